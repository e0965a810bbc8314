"""Turn one speech file (.txt .md .docx .pdf .html .htm) into plain text.

The output is always the same shape, whatever came in: paragraphs separated
by one blank line ("\\n\\n"), no leading/trailing whitespace.  Everything that
goes wrong while reading a file becomes a :class:`LoadError` that names the
file and says why in plain words, so a bulk ingest can skip and report it.

The format-specific work lives in pure functions (:func:`decode_bytes`,
:func:`markdown_to_text`, :func:`html_to_text`, :func:`strip_page_furniture`,
:func:`rejoin_pdf_lines`) so it can be unit-tested without files; the readers
at the bottom are thin wrappers around them.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

from ingest.heads import is_bare_date_line, is_speaker_line

__all__ = [
    "SUPPORTED_SUFFIXES",
    "DecodeError",
    "LoadError",
    "decode_bytes",
    "html_to_text",
    "load_text",
    "markdown_to_text",
    "rejoin_pdf_lines",
    "strip_page_furniture",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".docx", ".pdf", ".html", ".htm"})

# Hints for formats people commonly have but we do not read.
_SUFFIX_HINTS: dict[str, str] = {
    ".doc": "old binary Word format; save it as .docx",
    ".wps": "WPS format; save it as .docx",
    ".rtf": "save it as .docx or .txt",
}


class LoadError(Exception):
    """A file we cannot read; the message names the file and the reason in plain words."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name or self.path}: {reason}")

    def __reduce__(self) -> tuple[type[LoadError], tuple[Path, str]]:
        # Custom __init__ signature: keep the error picklable for worker pools.
        return (type(self), (self.path, self.reason))


class DecodeError(ValueError):
    """Bytes that do not decode to plausible text (binary, or no encoding fits)."""


# --------------------------------------------------------------------------- #
# Character classes shared by the format readers
# --------------------------------------------------------------------------- #

_CJK_IDEOGRAPH = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Quotes are East-Asian "ambiguous" width: look through them when deciding on spaces.
_QUOTES = "“”‘’\"'「」『』《》〈〉"
_SENTENCE_END = "。！？；：…!?;:."
# Closers end a sentence only when what they close ended one: 。” ends, “四个一律” does not.
_CLOSERS = "”’」』）)】］]》〉\"'"
_BLANK_SPLIT = re.compile(r"\n[^\S\n]*\n\s*")


def _is_wide(ch: str) -> bool:
    """True for full-width/wide characters (CJK ideographs, kana, CJK punctuation)."""
    return bool(ch) and unicodedata.east_asian_width(ch) in ("W", "F")


def _cjk_count(text: str) -> int:
    return len(_CJK_IDEOGRAPH.findall(text))


def _display_width(text: str) -> int:
    """Width in 'half-width columns': a CJK character counts as two, like on the page."""
    width = 0
    for ch in text:
        if ch == "\t":
            width += 4
        else:
            width += 2 if _is_wide(ch) else 1
    return width


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _finish(paragraphs: list[str]) -> str:
    """Join paragraphs with one blank line; trailing spaces and blank-line runs go."""
    out: list[str] = []
    for para in paragraphs:
        para = _normalise_newlines(para)
        lines = [ln.rstrip() for ln in para.split("\n")]
        para = "\n".join(ln for ln in lines if ln.strip()).strip()
        if para:
            out.append(para)
    return "\n\n".join(out)


# --------------------------------------------------------------------------- #
# Bytes -> str
# --------------------------------------------------------------------------- #

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_GB_FAMILY = {"gb18030", "gbk", "gb2312", "cp936", "hz", "x-gbk", "euc-cn"}


def _bad_char_ratio(text: str) -> float:
    """Share of characters that real text almost never has: controls, U+FFFD, unassigned..."""
    considered = 0
    bad = 0
    for ch in text:
        if ch in "\n\r\t\f\v ":
            continue
        considered += 1
        if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            bad += 1
    return bad / considered if considered else 0.0


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 without a BOM shows as a zero in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    pairs = len(data) // 2
    even_zero = data[0::2].count(0) / pairs
    odd_zero = data[1::2].count(0) / pairs
    if odd_zero > 0.4 and even_zero < 0.05:
        encoding = "utf-16-le"
    elif even_zero > 0.4 and odd_zero < 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _looks_like_misread_gb(text: str) -> bool:
    """GB18030 accepts most Big5 bytes; the result is full of rare hanzi, kana and Cyrillic."""
    non_ascii = [ch for ch in text[:20000] if ord(ch) > 0x7F and not ch.isspace()]
    if len(non_ascii) < 10:
        return False
    uncommon = 0
    for ch in non_ascii:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            uncommon += 1
            continue
        if not (_CJK_IDEOGRAPH.match(ch) or unicodedata.category(ch).startswith("P")):
            uncommon += 1  # kana, Cyrillic, Greek, box drawing: GB2312 has them, speeches don't
    return uncommon / len(non_ascii) > 0.3


def _oddness(text: str) -> float:
    """Share of non-ASCII characters that are neither hanzi nor punctuation."""
    non_ascii = [ch for ch in text if ord(ch) > 0x7F and not ch.isspace()]
    if not non_ascii:
        return 0.0
    odd = sum(
        1 for ch in non_ascii if not (_CJK_IDEOGRAPH.match(ch) or unicodedata.category(ch).startswith("P"))
    )
    return odd / len(non_ascii)


def _charset_normalizer_guess(data: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    return best.encoding, str(best)


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()


def _check_plausible(text: str) -> str:
    # Real text has next to none; 30% leaves room for a damaged but still useful file.
    if _bad_char_ratio(text) > 0.3:
        raise DecodeError("looks binary, not text (decodes to control/replacement characters)")
    return text


def decode_bytes(data: bytes) -> str:
    """Decode text bytes of unknown encoding; raise DecodeError for binary data.

    Detectors are unreliable on short Chinese texts (a 20-character GBK line is
    often guessed as Big5 or a Latin code page), so strict decoders that cannot
    silently succeed on the wrong input go first: BOM, UTF-8, GB18030, and only
    then charset-normalizer's best guess.  A leading BOM is removed; nothing
    else (line endings included) is changed.
    """
    if not data:
        raise DecodeError("file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_plausible(data[len(bom) :].decode(encoding))
            except UnicodeDecodeError:
                break  # a BOM followed by garbage: let the other decoders judge
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise DecodeError("looks binary, not text (contains NUL bytes)")
        return _check_plausible(text)
    try:
        return _check_plausible(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if _looks_like_misread_gb(text):
            guess = _charset_normalizer_guess(data)
            if (
                guess is not None
                and _codec_name(guess[0]) not in _GB_FAMILY
                and _oddness(guess[1]) < _oddness(text)
            ):
                return _check_plausible(guess[1].lstrip("\ufeff"))
        return _check_plausible(text)
    guess = _charset_normalizer_guess(data)
    if guess is None:
        raise DecodeError("looks binary, not text (no text encoding fits)")
    return _check_plausible(guess[1].lstrip("\ufeff"))


# --------------------------------------------------------------------------- #
# Plain text and Markdown
# --------------------------------------------------------------------------- #


def _text_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; a file without any has one per line."""
    text = _normalise_newlines(text).strip("\n")
    blocks = _BLANK_SPLIT.split(text)
    if len(blocks) == 1:
        # Common for Chinese .txt: one paragraph per line, indented with full-width spaces.
        return [ln for ln in text.split("\n") if ln.strip()]
    return blocks


_MD_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)")
# "#标题" without the space is common in Chinese Markdown, so a non-ASCII character may follow.
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$|(?=[^\x00-\x7f]))(.*?)(?:\s+#+\s*)?$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MD_REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+")
_MD_ORDERED = re.compile(r"^\s*(\d{1,9}[.)])\s+")
_MD_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images carry no speech text
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # [text](url "title")
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"(?<!\*)\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),  # *强调* works inside words
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
)


def _md_inline(text: str) -> str:
    for pattern, repl in _MD_INLINE:
        text = pattern.sub(repl, text)
    return text


def _md_table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return " | ".join(_md_inline(c) for c in cells if c)


def markdown_to_text(md: str) -> str:
    """Strip Markdown markup that is not speech text, keeping one paragraph per block.

    Headings become their own paragraph, list items one paragraph each (ordered
    numbers are kept: "1." is part of a Chinese outline), links become their
    text, images vanish, code fences keep their content verbatim.
    """
    lines = _normalise_newlines(md).split("\n")
    # YAML front matter is metadata, not text.
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                lines = lines[end + 1 :]
                break
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append("\n".join(current))
            current.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _MD_FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker[:3]):
                body.append(lines[i])
                i += 1
            i += 1  # closing fence (or end of file)
            paragraphs.extend(_BLANK_SPLIT.split("\n".join(body)))
            continue
        stripped = line.strip()
        if not stripped or (_MD_RULE.match(line) and not current):
            flush()
        elif _MD_SETEXT.match(line) and current:
            # "Title\n=====": the lines collected so far are a heading.
            flush()
        elif heading := _MD_HEADING.match(line):
            flush()
            paragraphs.append(_md_inline(heading.group(1)))
        elif _MD_REFDEF.match(line) or (_MD_TABLE_SEP.match(line) and "|" in line):
            pass  # link reference definitions and table rules are not text
        elif stripped.startswith("|") and stripped.endswith("|"):
            flush()
            paragraphs.append(_md_table_row(line))
        else:
            text = _MD_QUOTE.sub("", line)
            bullet = _MD_BULLET.match(text)
            ordered = _MD_ORDERED.match(text)
            if bullet or ordered:
                flush()
                if bullet:
                    text = text[bullet.end() :]
                else:
                    assert ordered is not None
                    text = ordered.group(1) + " " + text[ordered.end() :]
            current.append(_md_inline(text.strip()))
        i += 1
    flush()
    return _finish(paragraphs)


# --------------------------------------------------------------------------- #
# PDF layout: page furniture and broken lines
# --------------------------------------------------------------------------- #

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
_TITLE_WORDS = re.compile(r"(讲话|发言|致辞|报告|讲稿|演讲|通知|意见|方案|决定|总结|纪要)$")


def _ends_sentence(text: str) -> bool:
    # Look through closers: 。” ends a sentence, “四个一律” (a quote closed mid-sentence) does not.
    core = text.rstrip().rstrip(_CLOSERS)
    return bool(core) and core[-1] in _SENTENCE_END


def _indent_of(line: str) -> int:
    stripped = line.lstrip()
    return _display_width(line[: len(line) - len(stripped)])


def _collapse_spaced_cjk(text: str) -> str:
    """'安 全 生 产' (letter-spaced text read back one glyph at a time) -> '安全生产'."""
    tokens = text.split()
    if (
        len(tokens) >= 4
        and all(len(t) == 1 for t in tokens)
        and sum(_is_wide(t) for t in tokens) * 2 >= len(tokens)
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
    a = left.rstrip(_QUOTES) or left
    b = right.lstrip(_QUOTES) or right
    if _is_wide(a[-1]) or _is_wide(b[0]):
        return left + right
    if (b[0].isascii() and b[0].isalnum() and _TRAILING_RUN_AFTER_CJK.search(a)) or (
        a[-1].isdigit() and _LEADING_NUMBER_BEFORE_CJK.match(b)
    ):
        return left + right
    if len(a) >= 2 and a[-1] == "-" and a[-2].isalpha() and b[0].isalpha():
        return left + right  # "well-" + "known": keep the hyphen, add no space
    return left + " " + right


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
    raw = [ln.rstrip() for item in lines for ln in (item.splitlines() or [""])]
    rows: list[tuple[int, str] | None] = []  # None marks a blank line
    for ln in raw:
        text = ln.strip()
        rows.append((_indent_of(ln), _collapse_spaced_cjk(text)) if text else None)
    filled = [r for r in rows if r is not None]
    if not filled:
        return []
    base = min(indent for indent, _ in filled)
    rights = sorted(indent - base + _display_width(text) for indent, text in filled)
    # Full line width: a high percentile, so one over-long line does not set it.
    full = rights[min(len(rights) - 1, int(len(rights) * 0.9))] if len(rights) >= 10 else rights[-1]

    def right_edge(row: tuple[int, str]) -> int:
        return row[0] - base + _display_width(row[1])

    def is_short(row: tuple[int, str]) -> bool:
        edge = right_edge(row)
        return edge < 0.8 * full and full - edge >= 4

    def is_titleish(row: tuple[int, str]) -> bool:
        indent, text = row
        if not is_short(row) or _ends_sentence(text) or len(text) > 40:
            return False
        centred = indent - base >= 4 and abs((indent - base) - (full - right_edge(row))) <= 4
        return centred or text.startswith("《") or bool(_TITLE_WORDS.search(text))

    # Does this document mark paragraph starts by first-line indent?  Judge it by the
    # lines after sure paragraph ends (a short line that ends a sentence).
    after_ends = [
        nxt[0] - base
        for prev, nxt in pairwise(rows)
        if prev is not None and nxt is not None and is_short(prev) and _ends_sentence(prev[1])
    ]
    indented_after = sum(1 for indent in after_ends if 2 <= indent <= 8)
    uses_indent = indented_after >= 1 and indented_after >= 0.6 * len(after_ends)

    def breaks_between(cur: tuple[int, str], nxt: tuple[int, str]) -> bool:
        if nxt[0] > cur[0] + 1 and nxt[0] - base >= 2:
            return True  # first-line indent or a centred line
        if is_bare_date_line(cur[1]) or is_bare_date_line(nxt[1]):
            return True  # a date under a title or a signature, which may reach the right margin
        if _HEADING_START.match(nxt[1]) or is_titleish(nxt):
            return True
        if is_short(cur):
            return True
        if _ends_sentence(cur[1]):
            return not (uses_indent and nxt[0] - base < 2)
        return False

    paragraphs: list[str] = []
    current: str | None = None
    previous: tuple[int, str] | None = None
    for row in rows:
        if row is None:
            if current is not None:
                paragraphs.append(current)
            current, previous = None, None
            continue
        if current is None or previous is None or breaks_between(previous, row):
            if current is not None:
                paragraphs.append(current)
            current = row[1]
        else:
            current = _join_pair(current, row[1])
        previous = row
    if current is not None:
        paragraphs.append(current)
    return paragraphs


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

_HTML_JUNK_TAGS = [
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object",
    "embed", "link", "meta", "button", "input", "select", "textarea", "head",
]  # fmt: skip
_HTML_LAYOUT_TAGS = ["nav", "header", "footer", "aside", "form", "menu"]
_BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "td", "th", "ul", "title",
]  # fmt: skip
_BOILER_TOKEN = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menus?|breadcrumbs?|crumbs?|sidebar|side|aside|"
    r"footer|foot|header|head|topbar|share|sharing|social|copyright|copy|comments?|related|"
    r"recommends?|tuijian|xiangguan|ads?|advert|adv|banner|popup|modal|cookie|login|toolbar|"
    r"pagination|pager|prenext|prev|next|tags?|hot|rank|subscribe|qrcode|search|links?|flink|"
    r"friendlink|gotop|backtop|bottom|info|meta|author|byline|pubtime|pubdate|date|time|"
    r"source)(?=$|[-_\s\d])",
    re.I,
)


def is_speech_head(text: str) -> bool:
    """A speech's own date line "（2024年1月12日）" or speaker line, which sites often class as
    "meta" or "date" like their publishing line. The publishing line is not bracketed and
    carries labels (发布时间：…  来源：…), so it still goes."""
    text = text.strip()
    bracketed = text[:1] in "（(" and text[-1:] in "）)"
    return (bracketed and is_bare_date_line(text)) or is_speaker_line(text)


_BOILER_WORD = re.compile(r"breadcrumb|sidebar|copyright|navbar|footer|recommend|related|share|advert", re.I)
_BOILER_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_RELATED_WORDS = re.compile(
    r"相关(?:推荐|范文|文章|阅读|资料|内容|链接|下载|专题|搜索)|猜[您你]喜欢|"
    r"热门(?:推荐|文章|范文|阅读|标签|搜索)|推荐(?:阅读|文章|范文)|延伸阅读|精[彩品]推荐|"
    r"为[您你]推荐|最新(?:文章|更新|范文)|大家(?:都)?在看|友情链接"
)
_PREV_NEXT = re.compile(r"^\s*(?:上一篇|下一篇|上一页|下一页)")
_META_LABEL = re.compile(r"(时间|日期|发布|作者|来源|编辑|责编|浏览|点击|阅读|字体|字号)\s*[:：]")
_FOOTER_TEXT = re.compile(r"^\s*(?:版权所有|版权声明|免责声明|Copyright|©|\(c\)\s)", re.I)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.I,
)
_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "cp950"}
# Where the main content may sit, and which of its siblings are bare speech paragraphs.
_CONTAINER_TAGS = frozenset(
    {"div", "section", "article", "main", "td", "tr", "tbody", "table", "center", "form"}
)
_TEXT_BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})
_PARA_MARK = "\ue000\ue001\ue000"
_PRE_MARK = "\ue001\ue000\ue001"


def _decode_html(data: bytes) -> str:
    """Bytes of a web page -> str: BOM, strict UTF-8, the page's own declaration, then sniffing.

    Strict UTF-8 goes before the declaration because pages saved as UTF-8 often keep
    a stale "gb2312" meta tag, and GB18030 would decode those bytes into nonsense.
    """
    if not any(data.startswith(bom) for bom, _ in _BOMS):
        try:
            return _check_plausible(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        match = _META_CHARSET.search(data[:4096])
        if match:
            declared = (match.group(1) or match.group(2)).decode("ascii").lower()
            declared = _ENCODING_ALIASES.get(declared, declared)
            try:
                return data.decode(declared)
            except (LookupError, UnicodeDecodeError):
                pass  # wrong or unknown declaration: sniff instead
    return decode_bytes(data)


def _weight(text: str, chinese: bool) -> int:
    """How much text an element holds: hanzi for a Chinese page, visible characters otherwise."""
    if chinese:
        return _cjk_count(text)
    return sum(1 for ch in text if not ch.isspace())


def html_to_text(html: str | bytes) -> str:
    """Extract the main text of a web page; title first, one paragraph per block.

    Site furniture goes (scripts, navigation, headers/footers, sidebars, share
    bars, breadcrumbs, copyright, "相关推荐/上一篇" link lists, any block that is
    mostly links), then the text comes from <article>/<main> or the innermost
    element holding most of the page's Chinese text.
    """
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag

    text = _decode_html(html) if isinstance(html, bytes) else html
    soup = BeautifulSoup(text, "lxml")

    page_title = ""
    site_names: list[str] = []
    if soup.title is not None:
        page_title = soup.title.get_text(" ", strip=True)
        # "讲话标题_范文网" / "讲话标题 - 某某网": the first part; the rest names the site.
        page_title, *site_names = re.split(r"\s*(?:_|\||｜|\s-\s|\s–\s|\s—\s)\s*", page_title)

    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(_HTML_JUNK_TAGS):
        tag.decompose()
    body = soup.body or soup
    chinese = _cjk_count(body.get_text()) >= 20

    def weight(tag: Tag) -> int:
        return _weight(tag.get_text(), chinese)

    def attr_text(tag: Tag) -> str:
        classes = tag.get("class") or []
        if isinstance(classes, str):
            classes = [classes]
        return " ".join([str(tag.get("id") or ""), *map(str, classes)])

    def is_boiler(tag: Tag) -> bool:
        attrs = attr_text(tag)
        role = str(tag.get("role") or "").lower()
        return role in _BOILER_ROLES or bool(
            attrs.strip() and (_BOILER_TOKEN.search(attrs) or _BOILER_WORD.search(attrs))
        )

    # The title: the first <h1> that is not the site's logo or name, else the <title>.
    # Prefer one outside anything that looks like site chrome; an "article-head" may hold it.
    h1_title = ""
    for strict in (True, False):
        for h1 in soup.find_all("h1"):
            h1_text = _collapse_html_ws(h1.get_text())
            chain = [h1, *(p for p in h1.parents if isinstance(p, Tag))]
            names = {t.name for t in chain}
            in_content = bool(names & {"article", "main"})
            if (
                len(h1_text) <= 1
                or h1_text in site_names
                or any("logo" in attr_text(t).lower() for t in chain)
                or names & {"nav", "footer", "aside"}
                or ("header" in names and not in_content)
                or (strict and any(is_boiler(t) for t in chain))
            ):
                continue
            h1_title = h1_text
            break
        if h1_title:
            break
    title = h1_title or page_title

    total = weight(body)

    def protected(tag: Tag) -> bool:
        """Never drop what holds most of the page: a misnamed wrapper, an ASP.NET <form>."""
        return tag is body or tag.name in ("html", "body") or (total > 0 and weight(tag) * 2 > total)

    def drop(tag: Tag) -> None:
        if not tag.decomposed and not protected(tag):
            tag.decompose()

    for tag in soup.find_all(True):
        style = str(tag.get("style", "")).replace(" ", "").lower()
        if "display:none" in style or tag.has_attr("hidden"):
            drop(tag)  # popups and menus; protected() keeps a "read more" rest of the article
    for tag in soup.find_all(_HTML_LAYOUT_TAGS):
        drop(tag)
    for tag in soup.find_all(True):
        if (
            not tag.decomposed
            and tag.name not in ("html", "body")
            and is_boiler(tag)
            and not is_speech_head(_collapse_html_ws(tag.get_text()))
        ):
            drop(tag)

    def block_of(node: NavigableString | Tag) -> Tag | None:
        for parent in node.parents:
            if isinstance(parent, Tag) and parent.name in _BLOCK_TAGS:
                return parent
        return None

    def link_density(tag: Tag) -> tuple[float, int]:
        all_len = sum(1 for ch in tag.get_text() if not ch.isspace())
        links = tag.find_all("a")
        link_len = sum(1 for a in links for ch in a.get_text() if not ch.isspace())
        return (link_len / all_len if all_len else 1.0), len(links)

    def linkish(tag: Tag) -> bool:
        density, _ = link_density(tag)
        return density >= 0.5 or not tag.get_text(strip=True)

    # "相关推荐" and friends: a short heading plus the link list after it.
    for string in soup.find_all(string=_RELATED_WORDS):
        if not isinstance(string, NavigableString) or string.parent is None:
            continue
        block = block_of(string)
        if block is None or block.decomposed:
            continue
        if len(block.get_text(strip=True)) <= 30:
            while (
                block.parent is not None
                and block.parent.name not in ("body", "html")
                and len(block.parent.get_text(strip=True)) <= 30
            ):
                block = block.parent
            following = [s for s in block.find_next_siblings() if isinstance(s, Tag)]
            dropped = 0
            for sibling in following:
                if re.fullmatch(r"h[1-6]", sibling.name or "") or not linkish(sibling):
                    break
                drop(sibling)
                dropped += 1
            # A short speech line that happens to contain the words is not a heading.
            rest = _RELATED_WORDS.sub("", block.get_text())
            if dropped or len(re.sub(r"[\W_]", "", rest)) <= 2:
                drop(block)
        elif link_density(block)[0] >= 0.5:
            drop(block)
    for string in soup.find_all(string=_PREV_NEXT):
        block = block_of(string) if isinstance(string, NavigableString) else None
        if block is not None and not block.decomposed and len(block.get_text(strip=True)) <= 120:
            drop(block)

    # Any block that is mostly links (menus, tag clouds, link lists).
    for tag in soup.find_all(["ul", "ol", "dl", "div", "section", "table", "p", "span", "td", "li"]):
        if tag.decomposed:
            continue
        density, count = link_density(tag)
        limit = 0.5 if tag.name in ("ul", "ol", "dl") else 0.6
        if count >= 2 and density >= limit:
            drop(tag)
    # "时间：2023-11-30 作者：某某 来源：…": article metadata lines.
    for tag in soup.find_all(["div", "p", "span", "td", "li"]):
        if tag.decomposed:
            continue
        line = tag.get_text(" ", strip=True)
        if len(line) <= 100 and len(set(_META_LABEL.findall(line))) >= 2:
            drop(tag)

    # Main content: the biggest <article>/<main>, then the innermost element holding most text.
    root: Tag = body if isinstance(body, Tag) else soup
    remaining = weight(root)
    for name in ("article", "main"):
        candidates = [t for t in soup.find_all(name) if not t.decomposed]
        if candidates:
            best = max(candidates, key=weight)
            if remaining and weight(best) >= 0.3 * remaining:
                root = best
                break

    # Descend into the container holding nearly all that is left; bare paragraphs
    # beside it (a greeting, a closing line) are kept, a sibling box is not.
    def text_block(node: object) -> bool:
        if isinstance(node, Tag):
            return node.name in _TEXT_BLOCK_TAGS and weight(node) > 0 and not linkish(node)
        return isinstance(node, NavigableString) and _weight(str(node), chinese) > 0

    before: list[object] = []
    after: list[object] = []
    while True:
        children = [c for c in root.children if isinstance(c, Tag) and c.name in _CONTAINER_TAGS]
        if not children:
            break
        best = max(children, key=weight)
        root_weight = weight(root)
        if root_weight == 0 or weight(best) < 0.75 * root_weight:
            break
        siblings = list(root.children)
        position = next(i for i, node in enumerate(siblings) if node is best)

        before = before + [n for n in siblings[:position] if text_block(n)]
        after = [n for n in siblings[position + 1 :] if text_block(n)] + after
        root = best

    heading = None if h1_title else root.find(["h2", "h3"])
    heading_text = _collapse_html_ws(heading.get_text()) if heading is not None else ""
    paragraphs = [para for node in [*before, root, *after] for para in _html_paragraphs(node)]
    if heading_text and heading_text in paragraphs[:2]:
        # No usable <h1>: the content's leading <h2>/<h3> beats the (often generic) <title>.
        title = heading_text
    paragraphs = [p for p in paragraphs if not (len(p) < 150 and _FOOTER_TEXT.match(p))]
    if title:
        head = paragraphs[:3]
        if title in head:
            paragraphs.remove(title)
        paragraphs.insert(0, title)
    return _finish(paragraphs)


def _collapse_html_ws(text: str) -> str:
    """HTML whitespace rules, CJK-aware: a source line break between hanzi is not a space."""

    def repl(match: re.Match[str]) -> str:
        if "\n" not in match.group():
            return " "
        before = text[: match.start()].rstrip(_QUOTES)
        after = text[match.end() :].lstrip(_QUOTES)
        if before and after and _is_wide(before[-1]) and _is_wide(after[0]):
            return ""
        return " "

    return re.sub(r"[ \t\r\n\f]+", repl, text).strip()


def _html_paragraphs(root: object) -> list[str]:
    """Text of an element with a paragraph break at every block element and <br>."""
    from bs4 import NavigableString, Tag

    if not isinstance(root, Tag):
        text = _collapse_html_ws(str(root))
        return [text] if text else []
    for pre in root.find_all("pre"):
        pre.string = _PRE_MARK + pre.get_text()
    for br in root.find_all("br"):
        br.replace_with(NavigableString(_PARA_MARK))
    for tag in root.find_all(_BLOCK_TAGS):
        tag.insert_before(NavigableString(_PARA_MARK))
        tag.insert_after(NavigableString(_PARA_MARK))
    paragraphs: list[str] = []
    for chunk in root.get_text().split(_PARA_MARK):
        if chunk.startswith(_PRE_MARK):
            paragraphs.extend(_BLANK_SPLIT.split(chunk[len(_PRE_MARK) :].strip("\n")))
        else:
            collapsed = _collapse_html_ws(chunk.replace(_PRE_MARK, ""))
            if collapsed:
                paragraphs.append(collapsed)
    return paragraphs


# --------------------------------------------------------------------------- #
# File readers
# --------------------------------------------------------------------------- #


def _read_text_file(path: Path, data: bytes) -> str:
    try:
        text = decode_bytes(data)
    except DecodeError as exc:
        raise LoadError(path, str(exc)) from exc
    if path.suffix.lower() == ".md":
        return markdown_to_text(text)
    return _finish(_text_paragraphs(text))


def _iter_docx_blocks(parent: object) -> Iterator[object]:
    """Body-level paragraphs and tables in document order, looking inside content controls."""
    from docx.oxml.ns import qn

    for child in parent.iterchildren():  # type: ignore[attr-defined]
        if child.tag in (qn("w:p"), qn("w:tbl")):
            yield child
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _iter_docx_blocks(content)


def _read_docx(path: Path, data: bytes) -> str:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoadError(path, f"corrupt .docx (cannot open as a Word document): {exc}") from exc
    paragraphs: list[str] = []
    body = document.element.body
    for element in _iter_docx_blocks(body):
        if element.tag == qn("w:p"):
            paragraphs.append(Paragraph(element, document).text)
            continue
        table = Table(element, document)
        for tr in element.tr_lst:
            # Walk the XML cells: a horizontal merge is one w:tc, and the continuation
            # rows of a vertical merge are skipped, so merged text appears once.
            cells = [_Cell(tc, table).text.strip() for tc in tr.tc_lst if tc.vMerge != "continue"]
            cells = [c for c in cells if c]
            if len(cells) == 1:
                paragraphs.extend(cells[0].split("\n"))  # a layout table or a text box
            elif cells:
                paragraphs.append(" | ".join(re.sub(r"\s*\n\s*", " ", c) for c in cells))
    return _finish(paragraphs)


def _pdf_page_text(page: object) -> str:
    """Layout mode keeps indents and gaps (paragraph signals); plain mode is the fallback."""
    try:
        text = page.extract_text(extraction_mode="layout")  # type: ignore[attr-defined]
        if text and text.strip():
            return text
    except Exception:  # layout mode is the less robust one; plain mode may still work
        pass
    return page.extract_text() or ""  # type: ignore[attr-defined]


def _read_pdf(path: Path, data: bytes) -> str:
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
        pages = [_normalise_newlines(_pdf_page_text(page)).split("\n") for page in reader.pages]
    except FileNotDecryptedError as exc:
        raise LoadError(path, "PDF is encrypted (password required)") from exc
    except Exception as exc:
        raise LoadError(path, f"corrupt .pdf (cannot extract text): {exc}") from exc
    if not pages:
        raise LoadError(path, "PDF has no pages")
    if not any(ln.strip() for lines in pages for ln in lines):
        raise LoadError(path, "PDF has no text layer (scanned image?); OCR it first")
    return _finish(rejoin_pdf_lines(strip_page_furniture(pages)))


def _read_html(path: Path, data: bytes) -> str:
    try:
        return html_to_text(data)
    except DecodeError as exc:
        raise LoadError(path, str(exc)) from exc


_READERS: dict[str, Callable[[Path, bytes], str]] = {
    ".txt": _read_text_file,
    ".md": _read_text_file,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".html": _read_html,
    ".htm": _read_html,
}


def load_text(path: Path) -> str:
    """Read a speech file into text with paragraphs separated by blank lines ("\\n\\n").

    Raises LoadError (and nothing else) for anything unreadable: unsupported
    type, missing file, directory, permission, empty, binary, corrupt, a PDF
    without a text layer or with a password.
    """
    path = Path(path)
    try:
        return _load(path)
    except LoadError:
        raise
    except Exception as exc:  # the promise: callers only ever see LoadError
        raise LoadError(path, f"cannot read file ({type(exc).__name__}: {exc})") from exc


def _load(path: Path) -> str:
    if path.is_dir():
        raise LoadError(path, "is a directory, not a file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        kind = f"unsupported file type {suffix}" if suffix else "file has no extension"
        hint = f"; {_SUFFIX_HINTS[suffix]}" if suffix in _SUFFIX_HINTS else ""
        raise LoadError(path, f"{kind} (supported: {supported}){hint}")
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise LoadError(path, "file not found") from exc
    except PermissionError as exc:
        raise LoadError(path, "permission denied") from exc
    except OSError as exc:
        raise LoadError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if not data:
        raise LoadError(path, "file is empty")
    if suffix in (".txt", ".md") and not data.strip():
        raise LoadError(path, "file contains only whitespace")
    text = _READERS[suffix](path, data)
    if not text.strip():
        if suffix in (".txt", ".md"):
            raise LoadError(path, "file contains only whitespace (no text)")
        raise LoadError(path, "no text found in the document")
    return text
