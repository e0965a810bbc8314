"""The text rules that writing the index and answering from it must agree on.

Where a sentence ends (。！？；… and their half-width forms, closing quotes carried along) and what
marks a list item (一是 / 一要 / 一、 / （一） / 1. / 第一,). Chunking cuts at these, heading and
speech detection read them, and the answer layer quotes by them: one definition, so a quote never
starts where the index thought a sentence continued.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CLOSERS", "LIST_MARK", "SENTENCE_ENDS", "Sentence", "split_sentences"]

SENTENCE_ENDS = "。！？；!?;…"
CLOSERS = "”’」』）)】》\"'"
_OPEN_QUOTES = "“「『"
_CLOSE_QUOTES = "”」』"
_LONG_QUOTE = 300  # a quote this long without closing is a scraping slip, not a quote

# A list item's or outline heading's mark, full- and half-width alike:
# 一是 / 一要 / 一、 / 一．/ （一） / (1) / 1. / 1、 / 第一, / 第一是 / 第一部分.
LIST_MARK = re.compile(
    r"^([一二三四五六七八九十]+[、是要．.]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]"
    r"|第[一二三四五六七八九十]+(?:[,，、是]|部分|章|节))"
)


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    paragraph: int
    opens_paragraph: bool


def split_sentences(text: str) -> list[Sentence]:
    """Sentence spans over ``text``; a sentence ends at 。！？；… (plus closing quotes) or a line end."""
    sentences: list[Sentence] = []
    paragraph = 0
    start = 0
    depth = 0
    i = 0
    n = len(text)
    opens = True
    while i < n:
        ch = text[i]
        if ch == "\n":
            if i > start:
                sentences.append(Sentence(start, i, paragraph, opens))
            paragraph += 1
            opens = True
            start = i + 1
            depth = 0
            i += 1
            continue
        if ch in _OPEN_QUOTES:
            depth += 1
        elif ch in _CLOSE_QUOTES and depth:
            depth -= 1
        quote_closes_sentence = (
            ch in _CLOSE_QUOTES and depth == 0 and i > start and text[i - 1] in SENTENCE_ENDS
        )
        if quote_closes_sentence or (ch in SENTENCE_ENDS and (depth == 0 or i - start > _LONG_QUOTE)):
            j = i + 1
            while j < n and (text[j] in SENTENCE_ENDS or text[j] in CLOSERS):
                if text[j] in _CLOSE_QUOTES and depth:
                    depth -= 1
                j += 1
            sentences.append(Sentence(start, j, paragraph, opens))
            depth = 0  # a quote left open this long is a typo, not a quotation
            opens = False
            start = j
            i = j
            continue
        i += 1
    if start < n:
        sentences.append(Sentence(start, n, paragraph, opens))
    return [s for s in sentences if text[s.start : s.end].strip()]
