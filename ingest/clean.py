"""Cleaning: page text in, the paragraphs a reader would quote out.

Scraped pages carry site furniture (小编 notes, author/time lines, "相关范文推荐"
link lists). We drop whole paragraphs that are furniture and never rewrite the
words of a speech, so every quote we show is faithful to the source.
"""

from __future__ import annotations

import re
import unicodedata

# Leading indentation in Chinese documents is often full-width or no-break spaces.
_EDGE_SPACE = " \t\u3000\u00a0\u2002\u2003\u200b\ufeff"
_INNER_SPACE_RUN = re.compile(r"[ \t\u00a0\u2002\u2003]{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")

# A paragraph that starts the site's trailing link lists: everything after it goes.
_TAIL_MARKERS = re.compile(
    r"^(相关范文推荐|相关推荐|相关文章|相关阅读|猜您喜欢|猜你喜欢|热门推荐|热门文章|推荐阅读|"
    r"上一篇|下一篇|延伸阅读)[:：]?$"
)

# Whole paragraphs that are site furniture, not speech.
_BOILERPLATE = [
    re.compile(r"小编"),
    re.compile(r"(下面|以下)是.{0,24}(供大家|欢迎大家|整理的|希望对)"),
    re.compile(r"欢迎大家前来参考查阅|希望对(大家|您)有(所)?帮助"),
    re.compile(r"^(时间|发布时间|日期|发布日期|更新时间)[:：]\s*\d{4}.{0,40}(作者|来源|浏览)"),
    re.compile(r"^(作者|来源|责任编辑|编辑|浏览次数|阅读量)[:：].{0,40}$"),
    re.compile(r"[(（](通用|精选|优选|合集)?\d+篇[)）]$"),
    re.compile(r"^(版权所有|Copyright|©)", re.IGNORECASE),
]
_MAX_BOILERPLATE_LEN = 160  # longer paragraphs are speech even if they say 参考


def normalize_paragraph(text: str) -> str:
    """Trim edge spaces and control characters; keep the words exactly as written."""
    text = _CONTROL.sub("", text)  # first: a control between a letter and its accent would block NFC
    text = unicodedata.normalize("NFC", text)
    text = _INNER_SPACE_RUN.sub(" ", text)
    return text.strip(_EDGE_SPACE + "\r\n")


def split_paragraphs(text: str) -> list[str]:
    """Each non-empty line is a paragraph (loaders already rejoin layout breaks)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (normalize_paragraph(line) for line in text.split("\n"))
    return [p for p in paragraphs if p]


def is_boilerplate(paragraph: str) -> bool:
    if len(paragraph) > _MAX_BOILERPLATE_LEN:
        return False
    return any(pattern.search(paragraph) for pattern in _BOILERPLATE)


def strip_boilerplate(paragraphs: list[str]) -> list[str]:
    """Drop site furniture; cut the page at its trailing recommendation lists."""
    kept: list[str] = []
    for paragraph in paragraphs:
        if _TAIL_MARKERS.match(paragraph):
            break
        if not is_boilerplate(paragraph):
            kept.append(paragraph)
    return kept


def clean_text(text: str) -> list[str]:
    """Page text → the paragraphs worth keeping."""
    return strip_boilerplate(split_paragraphs(text))
