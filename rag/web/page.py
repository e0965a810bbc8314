"""What the chat page does: its event handlers and Gradio API endpoints, as methods of ``Page``.

app.py lays the page out and wires these up; tests call them directly. Every error goes through
rag.errors.user_error, so the page, its API endpoints and the HTTP API say the same thing.
(No ``from __future__ import annotations``: Gradio reads gr.Request / gr.Progress from the
annotations at run time.)
"""

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

from ingest.pipeline import IngestReport
from rag.api import PolicyQA
from rag.errors import user_error
from rag.limits import check_history, check_ids, check_k, recent_history
from rag.types import Answer
from rag.web.render import (
    answer_html,
    error_html,
    index_html,
    list_speeches,
    pending_html,
    question_html,
    report_html,
    report_row,
    speech_choices,
)
from rag.web.security import AuthError, Guard, client_of
from rag.web.uploads import Stored, check_upload, ingest_uploads, inside, store_uploads

log = logging.getLogger("policyqa.app")

HISTORY_TURNS = 6  # earlier turns handed to the follow-up logic
Chat = list[dict[str, str]]
Turns = list[tuple[str, str]]


def _message(error: BaseException, what: str) -> str:
    """The user-facing message; the traceback is logged only for errors nobody expected."""
    mapped = user_error(error)
    if not mapped.expected:
        log.error("%s failed", what, exc_info=error)
    return mapped.message


def _api_error(error: BaseException, what: str) -> gr.Error:
    return gr.Error(_message(error, what), print_exception=False)


def _client(request: gr.Request | None) -> str:
    if request is None or request.request is None:
        return "unknown"
    return client_of(request.request.scope)


def _read_warnings(report: IngestReport) -> str:
    """What reading repaired, and passages that look like injected instructions: an admin should
    see both before users ask (the answers never quote the latter)."""
    notes = [note for found in report.found for note in found.notes]
    notes += [f"可疑内容({f.kind}):{f.excerpt}" for found in report.found for f in found.suspicious]
    return "".join(f";{note}" for note in notes)


class Page:
    """The page's handlers over one PolicyQA; guard checks the admin password and counts failures."""

    def __init__(self, qa: PolicyQA, guard: Guard, note: Callable[[], str] | None = None) -> None:
        self.qa, self.guard, self.settings = qa, guard, qa.settings
        self.note = note or str  # the index panel's extra line (e.g. the --watch status)

    # ------------------------------------------------------------ chat

    def respond(
        self, question: str | None, chat: Chat | None, turns: Turns | None, speech_ids: list[str] | None
    ) -> Iterator[tuple[str, Chat, Chat, Turns]]:
        question = question or ""
        chat = [*(chat or []), {"role": "user", "content": question_html(question)}]
        turns = list(turns or [])
        chat.append({"role": "assistant", "content": pending_html()})
        yield "", chat, chat, turns
        answer: Answer | None = None
        streamed = ""
        try:
            history = recent_history(turns[-HISTORY_TURNS:])
            for piece in self.qa.ask_stream(question, history, speech_ids=speech_ids or None):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    streamed += piece
                    chat[-1] = {"role": "assistant", "content": pending_html(streamed)}
                    yield "", chat, chat, turns
        except Exception as error:  # said plainly; a traceback only for the unexpected
            chat[-1] = {
                "role": "assistant",
                "content": error_html(_message(error, f"answering {question[:200]!r}")),
            }
        if answer is not None:
            chat[-1] = {"role": "assistant", "content": answer_html(answer)}
            turns.append((answer.question, answer.text))
        yield "", chat, chat, turns

    def example(self, example: str):
        """A handler asking one example question (a button's click)."""

        def ask_example(chat: Chat | None, turns: Turns | None, speech_ids: list[str] | None):
            yield from self.respond(example, chat, turns, speech_ids)

        return ask_example

    @staticmethod
    def new_chat() -> tuple[str, list, list, list]:
        return "", [], [], []

    # ------------------------------------------------------------ index panel

    def refresh_index(self, selected: list[str] | None):
        speeches = list_speeches(self.qa)
        known = {str(s["speech_id"]) for s in speeches}
        keep = [s for s in (selected or []) if s in known]
        return gr.Dropdown(choices=speech_choices(speeches), value=keep), index_html(
            self.qa, speeches, self.note()
        )

    # ------------------------------------------------------------ admin: upload and re-ingest

    def _admin_refusal(self, password: str | None, request: gr.Request | None, what: str) -> str | None:
        try:
            self.guard.check_admin(password, _client(request))
        except AuthError as error:
            if error.status == 429:
                return str(error)
            return f"管理员密码不正确,{what}。" if password else "请先输入管理员密码。"
        return None

    def upload(
        self,
        files: list[str] | None,
        password: str | None,
        selected: list[str] | None,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - Gradio finds the progress bar by this default
    ):
        refusal = self._admin_refusal(password, request, "文件没有保存")
        if refusal:
            return report_html([], refusal), gr.skip(), gr.skip(), gr.skip()
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return report_html([], "请先选择要导入的讲话文件。"), gr.skip(), gr.skip(), gr.skip()
        progress(0, desc="保存文件……")
        rows, stored = self._store(paths)
        for number, item in enumerate(stored):
            progress(number / max(len(stored), 1), desc=f"导入 {item.name}({number + 1}/{len(stored)})……")
            rows.append(self._ingest_one(item))
        progress(1, desc="完成")
        dropdown, panel = self.refresh_index(selected)  # the new speeches show up in the filter and panel
        speeches = list_speeches(self.qa)
        chunks = sum(int(s.get("chunks") or 0) for s in speeches)
        summary = f"处理了 {len(paths)} 个文件;索引现有 {len(speeches)} 篇讲话、{chunks} 个段落。"
        return report_html(rows, summary), dropdown, panel, None

    def _store(self, paths: list[Path]) -> tuple[list[str], list[Stored]]:
        """Copy the files Gradio received into the upload folder; refuse anything else."""
        rows: list[str] = []
        stored: list[Stored] = []
        cache = [Path(get_upload_folder())]
        for path in paths:
            if not inside(path, cache):  # a server path handed to the handler directly
                log.warning("refused upload of %s: not a file the page received", path)
                rows.append(report_row(path.name, "不是通过本页面上传的文件,没有导入", False))
                continue
            reason = check_upload(path.name, path.stat().st_size, self.settings)
            if reason is None:
                stored += store_uploads(self.settings, [(path.name, path.read_bytes())])
            else:
                rows.append(report_row(path.name, reason, False))
            path.unlink(missing_ok=True)  # Gradio's copy is not needed any more
        return rows, stored

    def _ingest_one(self, item: Stored) -> str:
        try:
            report = ingest_uploads(self.qa, [item])
        except Exception as error:
            return report_row(item.name, f"导入失败:{_message(error, f'ingesting {item.path}')}", False)
        counts = (report.chunks_added, report.chunks_updated, report.chunks_unchanged, report.chunks_removed)
        if report.errors:
            return report_row(item.name, f"出错:{';'.join(e.reason for e in report.errors)}", False, counts)
        if report.files_changed:
            return report_row(item.name, "已导入" + _read_warnings(report), True, counts)
        return report_row(item.name, "已导入过,内容没有变化", True, counts)

    def reingest(
        self,
        password: str | None,
        selected: list[str] | None,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - Gradio finds the progress bar by this default
    ):
        """Bring the index in line with the data folder (uploads included); drop what is gone."""
        refusal = self._admin_refusal(password, request, "没有重新导入")
        if refusal:
            return report_html([], refusal), gr.skip(), gr.skip()
        progress(0, desc=f"重新导入 {self.settings.data_dir}……")
        try:
            report = self.qa.ingest([self.settings.data_dir], prune=True)
        except Exception as error:
            return report_html([], _message(error, "re-ingesting")), gr.skip(), gr.skip()
        counts = (report.chunks_added, report.chunks_updated, report.chunks_unchanged, report.chunks_removed)
        rows = [report_row(str(self.settings.data_dir.name), "已重新导入", report.ok, counts)]
        rows += [report_row(Path(e.file).name, f"出错:{e.reason}", False) for e in report.errors]
        progress(1, desc="完成")
        dropdown, panel = self.refresh_index(selected)
        summary = f"处理了 {report.files} 个文件;索引现有 {report.speeches} 篇讲话、{report.chunks} 个段落。"
        return report_html(rows, summary), dropdown, panel

    # ------------------------------------------------------------ named API endpoints (gradio_client)

    def ask(
        self, question: str, speech_ids: list[str] | None = None, history: list[list[str]] | None = None
    ) -> tuple[str, dict]:
        """Answer a question from the speeches: (answer text, {refused, note, citations, related})."""
        try:
            turns = check_history(history)
            ids = check_ids(speech_ids or None, "speech_ids")
            answer = self.qa.ask(question, turns, speech_ids=ids)
        except Exception as error:
            raise _api_error(error, "ask") from None
        data = answer.to_dict()
        return answer.text, {k: data[k] for k in ("refused", "note", "citations", "related")}

    def ask_stream(self, question: str, speech_ids: list[str] | None = None) -> Iterator[str]:
        """The answer text as it is produced (the text so far, growing)."""
        text = ""
        try:
            ids = check_ids(speech_ids or None, "speech_ids")
            for piece in self.qa.ask_stream(question, speech_ids=ids):
                if isinstance(piece, str):
                    text += piece
                    yield text
        except Exception as error:
            raise _api_error(error, "ask_stream") from None

    def search(self, query: str, k: int = 5, speech_ids: list[str] | None = None) -> list[dict]:
        """The k passages that best match the query, with their speech and score."""
        try:
            count = check_k(k)
            ids = check_ids(speech_ids or None, "speech_ids")
            return [p.to_dict() for p in self.qa.search(query, count, speech_ids=ids)]
        except Exception as error:
            raise _api_error(error, "search") from None

    def speeches(self) -> list[dict]:
        """The speeches in the index: id, title, sources, date, place, chunks."""
        return list_speeches(self.qa)


__all__ = ["HISTORY_TURNS", "Page"]
