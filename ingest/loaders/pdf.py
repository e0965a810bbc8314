"""PDF: text per page, page furniture (numbers, running heads) removed, broken lines rejoined."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from ingest.heads import is_bare_date_line
from ingest.loaders.common import (
    CLOSERS,
    QUOTES,
    SENTENCE_END,
    LoadError,
    OverBudget,
    check_time,
    display_width,
    finish,
    is_wide,
    normalise_newlines,
)

_PAGE_NUMBER_PATTERNS = [
    re.compile(r"^[-－—–―~～·•.\s]*\d{1,4}[-－—–―~～·•.\s]*$"),  # 3, - 3 -, — 3 —, ·3·
    re.compile(r"^[-－—–\s]*第\s*\d{1,4}\s*页\s*([,，/／]?\s*共\s*\d{1,4}\s*页)?[-－—–\s]*$"),
    re.compile(r"^共\s*\d{1,4}\s*页\s*[,，/／]?\s*第\s*\d{1,4}\s*页$"),
    re.compile(r"^\d{1,4}\s*[/／]\s*\d{1,4}$"),  # 3 / 10
    re.compile(r"^(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I),
]


def _is_page_number(line: str) -> bool:
    text = line.strip()
    return bool(text) and any(p.match(text) for p in _PAGE_NUMBER_PATTERNS)


# A running header or footer is a short line: on two pages, a longer repeat is text.
_RUNNING_LINE_MAX = 40


def strip_page_furniture(pages: list[list[str]]) -> list[str]:
    """Flatten per-page lines, dropping page numbers and running headers/footers.

    Only the first and last two non-blank lines of a page are candidates, so a
    lone number inside the text is kept.  Headers/footers are lines repeated
    (digits ignored) at a page edge on at least three pages and half of them;
    in a two-page document, a short line at the edge of both pages.
    Blank lines at page edges go too: a paragraph may continue on the next page,
    and :func:`rejoin_pdf_lines` decides that from the text itself.
    """

    def edge_indexes(lines: list[str]) -> list[int]:
        filled = [i for i, ln in enumerate(lines) if ln.strip()]
        return sorted(set(filled[:2] + filled[-2:]))

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))

    edge_counts: Counter[str] = Counter()
    for lines in pages:
        edge_counts.update({key(lines[i]) for i in edge_indexes(lines)})
    threshold = max(3, (len(pages) + 1) // 2)
    repeated = {k for k, n in edge_counts.items() if n >= threshold and len(pages) >= 3}
    if len(pages) == 2:
        repeated = {k for k, n in edge_counts.items() if n == 2 and 0 < len(k) <= _RUNNING_LINE_MAX}

    out: list[str] = []
    for lines in pages:
        drop = {i for i in edge_indexes(lines) if _is_page_number(lines[i]) or key(lines[i]) in repeated}
        kept = [ln for i, ln in enumerate(lines) if i not in drop]
        while kept and not kept[0].strip():
            kept.pop(0)
        while kept and not kept[-1].strip():
            kept.pop()
        out.extend(kept)
    return out


_HEADING_START = re.compile(
    r"""^(?:
        [一二三四五六七八九十百零〇]+[、．.]                      # 一、
      | [（(]\s*[一二三四五六七八九十百零〇\d]+\s*[）)]            # (一) （一） （1）
      | \d{1,3}[、．](?!\d)                                       # 1、 1．
      | \d{1,3}\.(?!\d)                                          # 1.  (not 1.5亿)
      | [①-⑳⑴-⒇⒈-⒛]                                           # ① ⑴ ⒈
      | [一二三四五六七八九十]+是                                 # 一是
      | 第[一二三四五六七八九十百零〇\d]+(?:[、，,：:．.\s章节条是]|部分)  # 第一、 第一章
    )""",
    re.X,
)
# (indent in half-width columns, text) of one non-blank line.
_Row = tuple[int, str]
_TITLE_WORDS = re.compile(r"(讲话|发言|致辞|报告|讲稿|演讲|通知|意见|方案|决定|总结|纪要)$")


def _ends_sentence(text: str) -> bool:
    # Look through closers: 。” ends a sentence, “四个一律” (a quote closed mid-sentence) does not.
    core = text.rstrip().rstrip(CLOSERS)
    return bool(core) and core[-1] in SENTENCE_END


def _indent_of(line: str) -> int:
    stripped = line.lstrip()
    return display_width(line[: len(line) - len(stripped)])


def _collapse_spaced_cjk(text: str) -> str:
    """'安 全 生 产' (letter-spaced text read back one glyph at a time) -> '安全生产'."""
    tokens = text.split()
    if (
        len(tokens) >= 4
        and all(len(t) == 1 for t in tokens)
        and sum(is_wide(t) for t in tokens) * 2 >= len(tokens)
    ):
        return "".join(tokens)
    return text


# A run of Latin letters or digits at a line end that follows CJK text ("共计4", "使用Win").
_TRAILING_RUN_AFTER_CJK = re.compile(r"[^\x00-\x7f][A-Za-z0-9.%]+$")
# The rest of a wrapped number, followed by CJK text ("12家", "5%的").
_LEADING_NUMBER_BEFORE_CJK = re.compile(r"[\d.,%]+[^\x00-\x7f]")


def _join_pair(left: str, right: str) -> str:
    """No space between CJK text; one space between Latin words.

    A number or word that the layout wrapped ("4" | "12家", "Win" | "dows") is one
    token again: digits on both sides, or a Latin run that sits inside CJK text.
    """
    a = left.rstrip(QUOTES) or left
    b = right.lstrip(QUOTES) or right
    if is_wide(a[-1]) or is_wide(b[0]):
        return left + right
    if (b[0].isascii() and b[0].isalnum() and _TRAILING_RUN_AFTER_CJK.search(a)) or (
        a[-1].isdigit() and _LEADING_NUMBER_BEFORE_CJK.match(b)
    ):
        return left + right
    if len(a) >= 2 and a[-1] == "-" and a[-2].isalpha() and b[0].isalpha():
        return left + right  # "well-" + "known": keep the hyphen, add no space
    return left + " " + right


# The full line width is this percentile of right edges, so one over-long line does not set it;
# with fewer lines than _FULL_WIDTH_MIN_LINES the percentile means nothing and the widest line is it.
_FULL_WIDTH_PERCENTILE = 0.9
_FULL_WIDTH_MIN_LINES = 10
# A line is "short" (ends its paragraph) when it stops before 80% of the full width and at
# least 4 columns (two hanzi) early: ragged right edges of full lines differ by less.
_SHORT_LINE_SHARE = 0.8
_SHORT_LINE_MIN_GAP = 4
_TITLE_MAX_CHARS = 40  # a title-like line is short; a longer one is a sentence without its 。
_CENTRE_MIN_INDENT = 4  # a centred line stands at least two hanzi in from the left margin
_CENTRE_TOLERANCE = 4  # left and right gaps of a centred line may differ by two hanzi
_FIRST_LINE_INDENT = 2  # a first-line indent is at least one hanzi (two columns; "　　" is four)
_MAX_FIRST_LINE_INDENT = 8  # deeper than four hanzi after a paragraph end is layout, not an indent
_INDENT_DOC_SHARE = 0.6  # the document marks paragraphs by indent when most paragraph ends show it


@dataclass(frozen=True)
class _Layout:
    """The page geometry the break decisions compare against: the left margin (``base``), the
    full line width, and whether the document marks paragraph starts by first-line indent."""

    base: int
    full: int
    uses_indent: bool = False

    def right_edge(self, row: _Row) -> int:
        return row[0] - self.base + display_width(row[1])

    def is_short(self, row: _Row) -> bool:
        edge = self.right_edge(row)
        return edge < _SHORT_LINE_SHARE * self.full and self.full - edge >= _SHORT_LINE_MIN_GAP

    def is_titleish(self, row: _Row) -> bool:
        indent, text = row
        if not self.is_short(row) or _ends_sentence(text) or len(text) > _TITLE_MAX_CHARS:
            return False
        margin = indent - self.base
        centred = (
            margin >= _CENTRE_MIN_INDENT
            and abs(margin - (self.full - self.right_edge(row))) <= _CENTRE_TOLERANCE
        )
        return centred or text.startswith("《") or bool(_TITLE_WORDS.search(text))

    def breaks_between(self, cur: _Row, nxt: _Row) -> bool:
        if nxt[0] > cur[0] + 1 and nxt[0] - self.base >= _FIRST_LINE_INDENT:
            return True  # first-line indent or a centred line
        if is_bare_date_line(cur[1]) or is_bare_date_line(nxt[1]):
            return True  # a date under a title or a signature, which may reach the right margin
        if _HEADING_START.match(nxt[1]) or self.is_titleish(nxt):
            return True
        if self.is_short(cur):
            return True
        if _ends_sentence(cur[1]):
            return not (self.uses_indent and nxt[0] - self.base < _FIRST_LINE_INDENT)
        return False


def rejoin_pdf_lines(lines: list[str]) -> list[str]:
    """Rejoin lines that the PDF layout broke mid-sentence; return paragraphs.

    A line joins the next unless: a blank line is between them; it ends a
    sentence (。！？；：… or a closing quote after one); it is clearly shorter
    than a full line; the next line is indented more (first-line indent), is a
    numbered heading (一、 （一） 1. 1、 一是 第一 ...) or looks like a title.
    In documents that mark paragraphs by first-line indent, a full-width line
    that happens to end a sentence still joins a non-indented next line.
    Joining never inserts a space next to CJK text and keeps every visible
    character (page numbers are :func:`strip_page_furniture`'s job).
    """
    rows = _pdf_rows(lines)
    layout = _measure_layout(rows)
    return [] if layout is None else _join_rows(rows, layout)


def _pdf_rows(lines: list[str]) -> list[_Row | None]:
    """(indent, text) per line, None for a blank line; letter-spaced CJK is closed up first,
    since its spaces would make every such line look like a full one."""
    raw = [ln.rstrip() for item in lines for ln in (item.splitlines() or [""])]
    rows: list[_Row | None] = []  # None marks a blank line
    for ln in raw:
        text = ln.strip()
        rows.append((_indent_of(ln), _collapse_spaced_cjk(text)) if text else None)
    return rows


def _measure_layout(rows: list[_Row | None]) -> _Layout | None:
    """Margin and full width from the lines themselves (None when there is no text): PDFs do not
    say where their text block ends, and a speech's paragraph ends are only short relative to it."""
    filled = [r for r in rows if r is not None]
    if not filled:
        return None
    base = min(indent for indent, _ in filled)
    rights = sorted(indent - base + display_width(text) for indent, text in filled)
    if len(rights) >= _FULL_WIDTH_MIN_LINES:
        full = rights[min(len(rights) - 1, int(len(rights) * _FULL_WIDTH_PERCENTILE))]
    else:
        full = rights[-1]
    return _Layout(base, full, _uses_indent(rows, _Layout(base, full)))


def _uses_indent(rows: list[_Row | None], layout: _Layout) -> bool:
    """Does this document mark paragraph starts by first-line indent?  Judge it by the
    lines after sure paragraph ends (a short line that ends a sentence)."""
    after_ends = [
        nxt[0] - layout.base
        for prev, nxt in pairwise(rows)
        if prev is not None and nxt is not None and layout.is_short(prev) and _ends_sentence(prev[1])
    ]
    indented_after = sum(1 for indent in after_ends if _FIRST_LINE_INDENT <= indent <= _MAX_FIRST_LINE_INDENT)
    return indented_after >= 1 and indented_after >= _INDENT_DOC_SHARE * len(after_ends)


def _join_rows(rows: list[_Row | None], layout: _Layout) -> list[str]:
    paragraphs: list[str] = []
    current: str | None = None
    previous: _Row | None = None
    for row in rows:
        if row is None:
            if current is not None:
                paragraphs.append(current)
            current, previous = None, None
            continue
        if current is None or previous is None or layout.breaks_between(previous, row):
            if current is not None:
                paragraphs.append(current)
            current = row[1]
        else:
            current = _join_pair(current, row[1])
        previous = row
    if current is not None:
        paragraphs.append(current)
    return paragraphs


def _pdf_page_text(page: object) -> str:
    """Layout mode keeps indents and gaps (paragraph signals); plain mode is the fallback."""
    try:
        text = page.extract_text(extraction_mode="layout")  # type: ignore[attr-defined]
        if text and text.strip():
            return text
    except Exception:  # layout mode is the less robust one; plain mode may still work
        pass
    return page.extract_text() or ""  # type: ignore[attr-defined]


def read_pdf(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data))
    except Exception as exc:
        raise LoadError(path, f"corrupt .pdf (cannot parse): {exc}") from exc
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only to restrict printing: the empty password opens them.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise LoadError(path, f"encrypted PDF needs an extra package to decrypt: {exc}") from exc
        except Exception as exc:
            raise LoadError(path, f"encrypted PDF that cannot be opened: {exc}") from exc
        if not opened:
            raise LoadError(path, "PDF is encrypted (password required)")
    try:
        pages = []
        for page in reader.pages:
            check_time()  # a PDF of thousands of pages must not hold the ingest for long
            pages.append(normalise_newlines(_pdf_page_text(page)).split("\n"))
    except FileNotDecryptedError as exc:
        raise LoadError(path, "PDF is encrypted (password required)") from exc
    except OverBudget:
        raise
    except Exception as exc:
        raise LoadError(path, f"corrupt .pdf (cannot extract text): {exc}") from exc
    if not pages:
        raise LoadError(path, "PDF has no pages")
    if not any(ln.strip() for lines in pages for ln in lines):
        raise LoadError(path, "PDF has no text layer (scanned image?); OCR it first")
    return finish(rejoin_pdf_lines(strip_page_furniture(pages)))
