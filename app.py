"""The web app: a Gradio chat over the speech index, mounted on the HTTP API.

    python app.py [--host H] [--port P] [--store DIR]

Settings come from POLICYQA_* environment variables; the flags override them.
Importing this module loads no model and opens no store: the index is opened
when the app is built and the model is warmed in the background once the
server is listening, so the page is up within seconds.

Every piece of text that comes from a speech, a file name or a user is passed
through ``html.escape`` before it goes into the page, and the chat renders its
messages as (sanitised) HTML without Markdown, so neither markup nor Markdown
in a speech or a question changes what is shown.
"""

import argparse
import html
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from ingest.index.store import StoreError
from ingest.loaders import SUPPORTED_SUFFIXES
from rag.api import PolicyQA, QuestionError
from rag.config import Settings
from rag.llm import LLMError, describe
from rag.types import Answer, Citation, Passage
from rag.web.uploads import admin_password_ok, save_upload

try:
    from rag.web.http_api import create_api
except ModuleNotFoundError as error:  # the HTTP API is optional; anything else failing is a real error
    if error.name != "rag.web.http_api":
        raise
    create_api = None

log = logging.getLogger("policyqa.app")

TITLE = "安全生产讲话问答"
EXAMPLES = (
    "“三个必须”指什么?",
    "煤矿当前的“三个多发”是什么?",
    "汛期排查隐患按什么原则?",
    "“四个一律”要求什么?",
)
# System fonts only: the page must not fetch web fonts (it often runs offline).
FONTS = [
    "system-ui",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "sans-serif",
]
HISTORY_TURNS = 6  # earlier turns handed to the follow-up logic
SHOWN_QUESTION_CHARS = 500  # a longer question is shown cut short in the chat
UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{16}_(?=.)")
_CITE_MARK = re.compile(r"\[(\d{1,3})\]")
_ELISION = re.compile(r"…+|\.{3,}")

CSS = """
.pq-answer p { margin: 0 0 .45em 0; }
.pq-answer .pq-ref { color: var(--color-accent); font-weight: 600; margin-left: 1px; }
.pq-note { margin: .4em 0; padding: .4em .6em; border-left: 3px solid #d97706;
  background: rgba(217, 119, 6, .08); }
.pq-error { color: #b91c1c; }
.pq-written { margin: .3em 0; font-size: .85em; opacity: .75; }
.pq-pending { color: var(--body-text-color-subdued); font-style: italic; }
.pq-sources-h { margin: .8em 0 .3em 0; font-weight: 600; font-size: .92em;
  color: var(--body-text-color-subdued); }
.pq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .75em;
  margin: .45em 0; background: var(--background-fill-secondary); }
.pq-card-h { font-weight: 600; }
.pq-badge { display: inline-block; min-width: 1.5em; text-align: center; margin-right: .35em;
  border-radius: 4px; background: var(--color-accent); color: #fff; font-size: .85em; }
.pq-src { font-size: .85em; color: var(--body-text-color-subdued); margin: .15em 0 .35em 0; }
.pq-passage { font-size: .92em; line-height: 1.65; white-space: pre-wrap; }
.pq-passage mark, .pq-text mark { background: #fde68a; color: #111827; padding: 0 1px; }
.pq-table { width: 100%; border-collapse: collapse; font-size: .92em; }
.pq-table th, .pq-table td { border: 1px solid var(--border-color-primary); padding: .3em .5em;
  text-align: left; vertical-align: top; }
.pq-table td.num { text-align: right; white-space: nowrap; }
.pq-ok { color: #15803d; }
.pq-bad { color: #b91c1c; }
.pq-summary { margin: .3em 0 .6em 0; }
"""


# ---------------------------------------------------------------- HTML, always escaped


def esc(text: object) -> str:
    """Any text from a document, a file name or a user, made inert for HTML."""
    return html.escape("" if text is None else str(text), quote=True)


def display_source(source: str) -> str:
    """An uploaded file's original name (the stored name carries a hash prefix)."""
    return _UPLOAD_PREFIX.sub("", source or "")


def highlight(passage: str, quote: str) -> str:
    """The passage, escaped, with the quoted span marked.

    A quote that leaves words out ("甲……乙") has each of its pieces marked; a quote that is
    not in the passage at all is shown marked above it.
    """
    passage = passage or ""
    quote = (quote or "").strip()
    spans = _quote_spans(passage, quote)
    if not spans:
        if not quote:
            return esc(passage)
        if not passage:
            return f"<mark>{esc(quote)}</mark>"
        return f"<mark>{esc(quote)}</mark><br><br>{esc(passage)}"
    parts, at = [], 0
    for start, end in spans:
        parts.append(f"{esc(passage[at:start])}<mark>{esc(passage[start:end])}</mark>")
        at = end
    parts.append(esc(passage[at:]))
    return "".join(parts)


def _quote_spans(passage: str, quote: str) -> list[tuple[int, int]]:
    if not quote:
        return []
    if (start := passage.find(quote)) >= 0:
        return [(start, start + len(quote))]
    spans: list[tuple[int, int]] = []
    for piece in (p.strip() for p in _ELISION.split(quote)):
        start = passage.find(piece) if piece else -1
        while start >= 0 and any(start < e and start + len(piece) > s for s, e in spans):
            start = passage.find(piece, start + 1)
        if start >= 0:
            spans.append((start, start + len(piece)))
    return sorted(spans)


def _lines_html(text: str) -> str:
    paragraphs = [line for line in text.split("\n") if line.strip()]
    return "".join(
        "<p>" + _CITE_MARK.sub(r'<sup class="pq-ref">[\1]</sup>', esc(line)) + "</p>" for line in paragraphs
    )


def citation_card(citation: Citation) -> str:
    where = esc(display_source(citation.source))
    if citation.heading_path:
        where += " · " + esc(citation.heading_path)
    return (
        '<div class="pq-card">'
        f'<div class="pq-card-h"><span class="pq-badge">{int(citation.index)}</span>'
        f'<span class="pq-title">《{esc(citation.speech_title)}》</span></div>'
        f'<div class="pq-src">来源文件:{where}</div>'
        f'<div class="pq-passage">{highlight(citation.passage, citation.quote)}</div>'
        "</div>"
    )


def passage_card(number: int, passage: Passage, limit: int = 320) -> str:
    text = passage.text if len(passage.text) <= limit else passage.text[:limit] + "……"
    where = esc(display_source(passage.source))
    if passage.heading_path:
        where += " · " + esc(passage.heading_path)
    return (
        '<div class="pq-card pq-related">'
        f'<div class="pq-card-h"><span class="pq-badge">{number}</span>'
        f'<span class="pq-title">《{esc(passage.speech_title)}》</span></div>'
        f'<div class="pq-src">来源文件:{where}</div>'
        f'<div class="pq-passage">{esc(text)}</div>'
        "</div>"
    )


def answer_html(answer: Answer) -> str:
    """The answer with its citations as source cards; a refusal with its related passages."""
    text = answer.text
    note = answer.note
    if note and text.rstrip().endswith(note):
        text = text.rstrip()[: -len(note)].rstrip()
    if answer.refused and answer.related:
        text = text.split("\n\n", 1)[0]  # the passages listed in the text are shown as cards below
    parts = ['<div class="pq-answer pq-done">', f'<div class="pq-text">{_lines_html(text)}</div>']
    if note:
        parts.append(f'<div class="pq-note">{esc(note)}</div>')
    if answer.mode == "generated" and answer.generation:
        parts.append(
            f'<div class="pq-written">由 {esc(answer.generation.model)} 根据下列讲话原文写成,'
            "每句都已与所引原文核对</div>"
        )
    if answer.citations:
        parts.append('<div class="pq-sources"><div class="pq-sources-h">来源</div>')
        parts.extend(citation_card(c) for c in answer.citations)
        parts.append("</div>")
    if answer.related:
        parts.append(
            '<div class="pq-sources"><div class="pq-sources-h">相关段落(供参考,并不直接回答这个问题)</div>'
        )
        parts.extend(passage_card(i, p) for i, p in enumerate(answer.related, 1))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def question_html(question: str) -> str:
    shown = question if len(question) <= SHOWN_QUESTION_CHARS else question[:SHOWN_QUESTION_CHARS]
    body = esc(shown).replace("\n", "<br>")
    if len(question) > SHOWN_QUESTION_CHARS:
        body += f'<span class="pq-pending">……(共 {len(question)} 字)</span>'
    return f'<div class="pq-question">{body}</div>'


def pending_html(text: str = "") -> str:
    if text:
        return f'<div class="pq-partial"><div class="pq-text">{_lines_html(text)}</div></div>'
    return '<div class="pq-pending">正在检索讲话……(第一次提问要先加载模型,可能需要十几秒)</div>'


def error_html(message: str) -> str:
    return f'<div class="pq-error pq-done">{esc(message)}</div>'


# ---------------------------------------------------------------- index panel and speech list


def manifest_time(settings: Settings) -> str:
    path = settings.store_dir / "manifest.json"
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    except OSError:
        return "从未导入"


def list_speeches(qa: PolicyQA) -> list[dict[str, Any]]:
    try:
        return qa.speeches()
    except Exception:  # no index yet, or the store cannot be opened: the panel says so
        log.exception("cannot list speeches")
        return []


def speech_choices(speeches: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, speech_id) for the filter; speeches that share a title are told apart by their id."""
    titles = [str(s.get("title") or "(无标题)") for s in speeches]
    choices = []
    for title, speech in zip(titles, speeches, strict=True):
        label = title
        if speech.get("date"):
            label += f"({speech['date']})"
        if titles.count(title) > 1:
            label += f" · {str(speech['speech_id'])[:6]}"
        choices.append((label, str(speech["speech_id"])))
    return choices


def llm_html(settings: Settings) -> str:
    """Who writes the answers and, for the local model once loaded, its CPU kernels and speed here."""
    info = describe(settings)
    if info["provider"] == "none":
        return ""
    line = f"回答由 {esc(info['model'])} 生成"
    if info.get("cpu_variant"):
        line += f";llama.cpp CPU 内核:{esc(info['cpu_variant'])}"
    speed = info.get("speed")
    if isinstance(speed, dict):
        line += (
            f";本机速度:提示 {speed['prompt_tokens_per_s']} 词元/秒,"
            f"生成 {speed['generation_tokens_per_s']} 词元/秒"
        )
    return f'<div class="pq-summary">{line}</div>'


def index_html(qa: PolicyQA, speeches: Sequence[dict[str, Any]] | None = None) -> str:
    speeches = list_speeches(qa) if speeches is None else speeches
    chunks = sum(int(s.get("chunks") or 0) for s in speeches)
    head = (
        f'<div class="pq-summary">索引里有 <b>{len(speeches)}</b> 篇讲话、<b>{chunks}</b> 个段落;'
        f"最近一次导入:{esc(manifest_time(qa.settings))}</div>"
    ) + llm_html(qa.settings)
    if not speeches:
        return head + "<p>索引里还没有讲话。请在“导入讲话”页上传讲话文件,或运行 python -m ingest。</p>"
    rows = "".join(
        "<tr>"
        f"<td>{esc(s.get('title'))}</td>"
        f"<td>{esc(s.get('date') or '—')}</td>"
        f"<td>{'<br>'.join(esc(display_source(src)) for src in s.get('sources') or [])}</td>"
        f'<td class="num">{int(s.get("chunks") or 0)}</td>'
        "</tr>"
        for s in speeches
    )
    return (
        head + '<table class="pq-table"><thead><tr><th>标题</th><th>日期</th><th>来源文件</th>'
        f"<th>段落数</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# ---------------------------------------------------------------- uploads


def _report_row(name: str, status: str, ok: bool, counts: Sequence[object] = ("", "", "", "")) -> str:
    cells = "".join(f'<td class="num">{esc(c)}</td>' for c in counts)
    css = "pq-ok" if ok else "pq-bad"
    return f'<tr><td>{esc(name)}</td><td class="{css}">{esc(status)}</td>{cells}</tr>'


def report_html(rows: Sequence[str], summary: str) -> str:
    if not rows:
        return f'<div class="pq-summary pq-bad">{esc(summary)}</div>'
    return (
        f'<div class="pq-summary">{esc(summary)}</div>'
        '<table class="pq-table"><thead><tr><th>文件</th><th>结果</th><th>新增段落</th><th>更新</th>'
        "<th>未变(全索引)</th><th>删除</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# ---------------------------------------------------------------- the UI


def _parse_users(spec: str) -> list[tuple[str, str]]:
    users = []
    for entry in spec.split(","):
        if not entry.strip():
            continue
        user, sep, password = entry.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError("POLICYQA_CHAT_USERS must look like 'user:password,user2:password2'")
        users.append((user, password))
    return users


def build_ui(qa: PolicyQA) -> gr.Blocks:
    settings = qa.settings

    # ---- chat
    def respond(
        question: str | None,
        chat: list[dict[str, str]] | None,
        turns: list[tuple[str, str]] | None,
        speech_ids: list[str] | None,
    ) -> Iterator[tuple[str, list[dict[str, str]], list[dict[str, str]], list[tuple[str, str]]]]:
        question = question or ""
        chat = [*(chat or []), {"role": "user", "content": question_html(question)}]
        turns = list(turns or [])
        chat.append({"role": "assistant", "content": pending_html()})
        yield "", chat, chat, turns
        answer: Answer | None = None
        streamed = ""
        try:
            for piece in qa.ask_stream(question, turns[-HISTORY_TURNS:], speech_ids=speech_ids or None):
                if isinstance(piece, Answer):
                    answer = piece
                else:
                    streamed += piece
                    chat[-1] = {"role": "assistant", "content": pending_html(streamed)}
                    yield "", chat, chat, turns
        except (QuestionError, StoreError, LLMError) as error:  # said plainly, no traceback in the log
            chat[-1] = {"role": "assistant", "content": error_html(str(error))}
        except Exception as error:
            log.exception("answering %r failed", question[:200])
            chat[-1] = {"role": "assistant", "content": error_html(f"出错了:{error}")}
        if answer is not None:
            chat[-1] = {"role": "assistant", "content": answer_html(answer)}
            turns.append((answer.question, answer.text))
        yield "", chat, chat, turns

    def example_handler(example: str):
        def ask_example(chat, turns, speech_ids):
            yield from respond(example, chat, turns, speech_ids)

        return ask_example

    def new_chat() -> tuple[str, list, list, list]:
        return "", [], [], []

    # ---- index panel
    def refresh_index(selected: list[str] | None):
        speeches = list_speeches(qa)
        known = {str(s["speech_id"]) for s in speeches}
        keep = [s for s in (selected or []) if s in known]
        return gr.Dropdown(choices=speech_choices(speeches), value=keep), index_html(qa, speeches)

    # ---- upload
    def upload(
        files: list[str] | None,
        password: str | None,
        selected: list[str] | None,
        progress=gr.Progress(),  # noqa: B008 - Gradio finds the progress bar by this default
    ):
        if not admin_password_ok(password, settings):
            message = "管理员密码不正确,文件没有保存。" if password else "请先输入管理员密码。"
            return report_html([], message), gr.skip(), gr.skip(), gr.skip()
        paths = [Path(f) for f in (files or [])]
        if not paths:
            return report_html([], "请先选择要导入的讲话文件。"), gr.skip(), gr.skip(), gr.skip()
        limit = settings.max_upload_mb * 1024 * 1024
        rows: list[str] = []
        saved: list[tuple[str, Path]] = []
        progress(0, desc="保存文件……")
        settings.uploads.mkdir(parents=True, exist_ok=True)
        for path in paths:
            name = path.name
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                rows.append(_report_row(name, f"不支持的格式 {suffix or '(无后缀)'}", False))
                continue
            size = path.stat().st_size
            if size > limit:
                status = f"文件太大({size / 1048576:.1f} MB > {settings.max_upload_mb} MB),没有保存"
                rows.append(_report_row(name, status, False))
                continue
            saved.append((name, save_upload(settings.uploads, name, path.read_bytes())))
        for number, (name, target) in enumerate(saved):
            progress(number / max(len(saved), 1), desc=f"导入 {name}({number + 1}/{len(saved)})……")
            try:
                report = qa.ingest([target])
            except Exception as error:
                log.exception("ingesting %s failed", target)
                rows.append(_report_row(name, f"导入失败:{error}", False))
                continue
            counts = (
                report.chunks_added,
                report.chunks_updated,
                report.chunks_unchanged,
                report.chunks_removed,
            )
            if report.errors:
                reasons = ";".join(e.reason for e in report.errors)
                rows.append(_report_row(name, f"出错:{reasons}", False, counts))
            elif report.files_changed:
                rows.append(_report_row(name, "已导入", True, counts))
            else:
                rows.append(_report_row(name, "已导入过,内容没有变化", True, counts))
        progress(1, desc="完成")
        dropdown, panel = refresh_index(selected)  # the new speeches show up in the filter and panel
        speeches = list_speeches(qa)
        chunks = sum(int(s.get("chunks") or 0) for s in speeches)
        summary = f"处理了 {len(paths)} 个文件;索引现有 {len(speeches)} 篇讲话、{chunks} 个段落。"
        return report_html(rows, summary), dropdown, panel, None

    def reingest(
        password: str | None,
        selected: list[str] | None,
        progress=gr.Progress(),  # noqa: B008 - Gradio finds the progress bar by this default
    ):
        """Bring the index in line with the data folder (uploads included); drop what is gone."""
        if not admin_password_ok(password, settings):
            message = "管理员密码不正确,没有重新导入。" if password else "请先输入管理员密码。"
            return report_html([], message), gr.skip(), gr.skip()
        progress(0, desc=f"重新导入 {settings.data_dir}……")
        report = qa.ingest([settings.data_dir], prune=True)
        counts = (report.chunks_added, report.chunks_updated, report.chunks_unchanged, report.chunks_removed)
        rows = [_report_row(str(settings.data_dir.name), "已重新导入", report.ok, counts)]
        rows += [_report_row(Path(e.file).name, f"出错:{e.reason}", False) for e in report.errors]
        progress(1, desc="完成")
        dropdown, panel = refresh_index(selected)
        summary = f"处理了 {report.files} 个文件;索引现有 {report.speeches} 篇讲话、{report.chunks} 个段落。"
        return report_html(rows, summary), dropdown, panel

    # ---- named API endpoints (gradio_client)
    def ask(
        question: str, speech_ids: list[str] | None = None, history: list[list[str]] | None = None
    ) -> tuple[str, dict]:
        """Answer a question from the speeches: (answer text, {refused, note, citations, related})."""
        turns = [(str(t[0]), str(t[1])) for t in history or [] if len(t) >= 2]
        try:
            answer = qa.ask(question, turns, speech_ids=speech_ids or None)
        except (QuestionError, StoreError, LLMError) as error:  # bad question; no index; store or model down
            raise gr.Error(str(error), print_exception=False) from None
        data = answer.to_dict()
        return answer.text, {k: data[k] for k in ("refused", "note", "citations", "related")}

    def ask_stream(question: str, speech_ids: list[str] | None = None) -> Iterator[str]:
        """The answer text as it is produced (the text so far, growing)."""
        text = ""
        try:
            for piece in qa.ask_stream(question, speech_ids=speech_ids or None):
                if isinstance(piece, str):
                    text += piece
                    yield text
        except (QuestionError, StoreError) as error:  # a bad question; no index; Chroma server down
            raise gr.Error(str(error), print_exception=False) from None

    def search(query: str, k: int = 5, speech_ids: list[str] | None = None) -> list[dict]:
        """The k passages that best match the query, with their speech and score."""
        try:
            return [p.to_dict() for p in qa.search(query, int(k), speech_ids=speech_ids or None)]
        except (QuestionError, StoreError) as error:  # a bad question; no index; Chroma server down
            raise gr.Error(str(error), print_exception=False) from None

    def speeches() -> list[dict]:
        """The speeches in the index: id, title, sources, date, place, chunks."""
        return list_speeches(qa)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as blocks:
        chat_state = gr.State([])
        turns_state = gr.State([])
        gr.Markdown(f"# {TITLE}\n按讲话原文回答问题,每一句都注明出自哪篇讲话;讲话里没有的内容会直说没有。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=4):
                    chatbot = gr.Chatbot(
                        label="对话",
                        show_label=False,
                        elem_id="pq-chat",
                        height=600,
                        render_markdown=False,  # messages are HTML we build and escape ourselves
                        sanitize_html=True,
                        latex_delimiters=[],
                        buttons=[],
                        feedback_options=None,
                        placeholder="请输入问题,或点击下面的示例问题。",
                    )
                    with gr.Row():
                        question_box = gr.Textbox(
                            show_label=False,
                            placeholder="输入问题,按回车发送",
                            elem_id="pq-question",
                            scale=6,
                            autofocus=True,
                        )
                        send = gr.Button("发送", variant="primary", scale=1, elem_id="pq-send")
                        clear = gr.Button("新对话", scale=1, elem_id="pq-new")
                    gr.Markdown("**示例问题**(点击即问):")
                    with gr.Row():
                        example_buttons = [
                            gr.Button(example, size="sm", elem_classes=["pq-example"]) for example in EXAMPLES
                        ]
                with gr.Column(scale=1, min_width=240):
                    speech_filter = gr.Dropdown(
                        choices=[],
                        value=[],
                        multiselect=True,
                        label="只在这些讲话中查找",
                        info="不选 = 在全部讲话中查找",
                        elem_id="pq-filter",
                    )
            with gr.Tab("导入讲话", id="upload"):
                if settings.admin_password is None:
                    gr.Markdown(
                        "**上传已关闭。** 要开启上传,请设置管理员密码后重启应用,例如:\n\n"
                        "```\nPOLICYQA_ADMIN_PASSWORD=你的密码 python app.py\n```"
                    )
                    upload_parts = None
                else:
                    gr.Markdown(
                        f"上传讲话文件({' '.join(UPLOAD_SUFFIXES)},每个不超过 {settings.max_upload_mb} MB),"
                        "输入管理员密码后点击“导入”。已导入过的文件不会重复导入。"
                    )
                    files = gr.File(
                        label="讲话文件",
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        type="filepath",
                        elem_id="pq-files",
                    )
                    password_box = gr.Textbox(
                        label="管理员密码", type="password", elem_id="pq-password", max_lines=1
                    )
                    with gr.Row():
                        import_button = gr.Button("导入", variant="primary", elem_id="pq-import")
                        reingest_button = gr.Button(
                            "重新导入数据文件夹", elem_id="pq-reingest", variant="secondary"
                        )
                    report = gr.HTML(elem_id="pq-report")
                    upload_parts = (files, password_box, import_button, reingest_button, report)
            with gr.Tab("索引", id="index"):
                refresh = gr.Button("刷新", size="sm")
                panel = gr.HTML(elem_id="pq-index")

        chat_outputs = [question_box, chatbot, chat_state, turns_state]
        chat_inputs = [question_box, chat_state, turns_state, speech_filter]
        common = {"concurrency_id": "qa", "concurrency_limit": 2, "api_visibility": "private"}
        question_box.submit(respond, chat_inputs, chat_outputs, show_progress="hidden", **common)
        send.click(respond, chat_inputs, chat_outputs, show_progress="hidden", **common)
        for button, example in zip(example_buttons, EXAMPLES, strict=True):
            button.click(
                example_handler(example),
                [chat_state, turns_state, speech_filter],
                chat_outputs,
                show_progress="hidden",
                **common,
            )
        clear.click(new_chat, None, chat_outputs, queue=False, api_visibility="private")
        chatbot.clear(new_chat, None, chat_outputs, queue=False, api_visibility="private")
        refresh.click(refresh_index, [speech_filter], [speech_filter, panel], api_visibility="private")
        blocks.load(refresh_index, [speech_filter], [speech_filter, panel], api_visibility="private")
        if upload_parts is not None:
            files, password_box, import_button, reingest_button, report = upload_parts
            reingest_button.click(
                reingest,
                [password_box, speech_filter],
                [report, speech_filter, panel],
                concurrency_id="ingest",
                concurrency_limit=1,
                api_visibility="private",
            )
            import_button.click(
                upload,
                [files, password_box, speech_filter],
                [report, speech_filter, panel, files],
                concurrency_id="ingest",
                concurrency_limit=1,
                api_visibility="private",
            )

        gr.api(ask, api_name="ask", concurrency_id="qa", concurrency_limit=2)
        gr.api(ask_stream, api_name="ask_stream", concurrency_id="qa", concurrency_limit=2)
        gr.api(search, api_name="search", concurrency_id="qa", concurrency_limit=2)
        gr.api(speeches, api_name="speeches")
    return blocks


# ---------------------------------------------------------------- the app


def build_app(settings: Settings, qa: PolicyQA | None = None) -> FastAPI:
    """The HTTP API (when rag.web.http_api is there) with the chat page mounted at /."""
    qa = qa or PolicyQA(settings)
    api = create_api(qa) if create_api is not None else FastAPI(title=TITLE)
    api.state.policyqa = qa
    blocks = build_ui(qa)
    auth = _parse_users(settings.chat_users) if settings.chat_users else None
    return gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=auth or None,
        auth_message="请登录后使用问答。" if auth else None,
        footer_links=["api", "settings"],
        run_history=False,
        max_file_size=f"{settings.max_upload_mb}mb",
        ssr_mode=False,
        mcp_server=False,
        theme=gr.themes.Soft(font=FONTS, font_mono=["ui-monospace", "monospace"]),
        css=CSS,
    )


def ensure_index(settings: Settings) -> None:
    """Build the index from data_dir when there is none, showing progress on the console."""
    if PolicyQA(settings).has_index():
        return
    from ingest.pipeline import ingest_paths

    print(f"索引不存在,正在从 {settings.data_dir} 建立索引(第一次启动需要几分钟)……", flush=True)
    started = time.perf_counter()
    try:
        report = ingest_paths([settings.data_dir], settings, progress=True)
    except Exception as error:  # the app still starts; speeches can be uploaded later
        print(f"建立索引失败:{error}", flush=True)
        return
    print(report.summary(), flush=True)
    print(f"索引已建好,用时 {time.perf_counter() - started:.1f} 秒。", flush=True)


def _warm_up_when_listening(server: Any, qa: PolicyQA) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.1)
    if server.should_exit:
        return
    started = time.perf_counter()
    try:
        qa.warm_up()
    except Exception:
        log.exception("warming up the model failed; it will load on the first question")
        return
    print(f"模型已加载({time.perf_counter() - started:.1f} 秒),可以提问了。", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"{TITLE}:浏览器问答页面和 HTTP API")
    parser.add_argument("--host", help="listen address (default: POLICYQA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: POLICYQA_PORT or 7860)")
    parser.add_argument("--store", type=Path, help="index directory (default: POLICYQA_STORE_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings().with_overrides(host=args.host, port=args.port, store_dir=args.store)

    ensure_index(settings)
    qa = PolicyQA(settings)
    app = build_app(settings, qa)

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port))
    threading.Thread(target=_warm_up_when_listening, args=(server, qa), daemon=True).start()
    print(f"{TITLE}: http://{settings.host}:{settings.port}/", flush=True)
    server.run()


if __name__ == "__main__":
    main()
