"""The chat page's HTML: answers, source cards, the index panel and upload reports.

Every piece of text that comes from a speech, a file name or a user goes through ``esc``
(``html.escape``) before it goes into the page, and the chat renders its messages as (sanitised)
HTML without Markdown, so neither markup nor Markdown in a speech or a question changes what is
shown. Plain functions of their inputs: no Gradio, no store (index_html takes the speech list).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rag.config import Settings
from rag.llm import describe
from rag.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from rag.api import PolicyQA

log = logging.getLogger("policyqa.app")

SHOWN_QUESTION_CHARS = 500  # a longer question is shown cut short in the chat
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{16}_(?=.)")
_CITE_MARK = re.compile(r"\[(\d{1,3})\]")
_ELISION = re.compile(r"…+|\.{3,}")


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


def index_html(qa: PolicyQA, speeches: Sequence[dict[str, Any]] | None = None, note: str = "") -> str:
    speeches = list_speeches(qa) if speeches is None else speeches
    chunks = sum(int(s.get("chunks") or 0) for s in speeches)
    head = (
        (
            f'<div class="pq-summary">索引里有 <b>{len(speeches)}</b> 篇讲话、<b>{chunks}</b> 个段落;'
            f"最近一次导入:{esc(manifest_time(qa.settings))}</div>"
        )
        + llm_html(qa.settings)
        + note
    )
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


def report_row(name: str, status: str, ok: bool, counts: Sequence[object] = ("", "", "", "")) -> str:
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
