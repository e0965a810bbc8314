"""What follows a lead: the reasons, measures or items a passage gives after the sentence
that announces them (issue 12).

A speech often restates the question before answering it ("为什么说……？一是……二是……"),
names a measure in a heading and explains it in the sentences below ("（二）加强起重机械
管理。要落实安装告知、检验检测、使用登记制度……"), or runs a list on past the end of the
chunk. Quoting the lead alone answers nothing; this module finds what comes after it,
fetching the next chunk of the same speech when the passage ends first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ingest.index.text import LIST_MARK, split_sentences
from ingest.suspicious import is_suspicious
from rag.types import Passage

_QUESTION_END = re.compile(r"[?？]\s*[”\"」』]?$")
_OPENS = re.compile(r"[:：;；]$|以下|如下|(几|[两三四五六七八九十])(个|项|点|条|方面)[^。]{0,6}[:：。]?$")
_SEMICOLON_END = re.compile(r"[;；][\"“”]?$")  # a straight quote may open the next part

# A heading is a short enumerated sentence ("（二）加强起重机械管理。"); calibrated on eval/calibration.jsonl.
HEADING_MAX_CHARS = 24
# Items taken from a list that follows a lead, and sentences of a heading's body.
MAX_ITEMS = 6
BODY_SENTENCES = 2
# Sentences after the lead looked at (the list may start a sentence or two later, and items with a
# few sentences of body each run long: at 14 the third of three such items was cut off).
WINDOW = 30
FIRST_ITEM_WITHIN = 2


@dataclass(frozen=True)
class Following:
    """A sentence after the lead: which passage (index into the answer's passages) and where."""

    passage: int
    start: int
    end: int
    text: str


def is_question(text: str) -> bool:
    return bool(_QUESTION_END.search(text.strip()))


def is_heading(text: str) -> bool:
    return bool(LIST_MARK.match(text)) and len(text) <= HEADING_MAX_CHARS


def opens_list(text: str) -> bool:
    return bool(_OPENS.search(text.strip()))


def ends_in_semicolon(text: str) -> bool:
    """One clause of a semicolon series: the sentence runs on to the next full stop."""
    return bool(_SEMICOLON_END.search(text.strip()))


def needs_continuation(text: str) -> bool:
    """The lead announces what follows rather than saying it."""
    return is_question(text) or is_heading(text) or opens_list(text)


def item_style(text: str) -> str | None:
    """一是/二是 → '是', （一）/(二) → '()', 1./2. → '.', 一、 → '、'; items of one list share a style."""
    match = LIST_MARK.match(text)
    if not match:
        return None
    mark = match.group(0)
    if mark[0] in "(（":
        return "()"
    if mark[0].isdigit():
        return "."
    if mark.startswith("第"):
        return "第"
    return mark[-1]


_FIRST_MARK = re.compile(
    r"^([一][、是要．.]|[(（]\s*[一1１]\s*[)）]|[1１][.、．]|第一(?:[,，、是]|部分|章|节))"
)


def is_first_item(text: str) -> bool:
    """Is this the first item of a list (一是/（一）/(1)/1./第一…), half- or full-width?"""
    return bool(_FIRST_MARK.match(text.strip()))


_AFTER_COLON = re.compile(r"[:：]\s*")


def inline_item_style(text: str) -> str | None:
    """The style of a list whose first item the lead itself holds after a colon ("原因主要有三条：
    一是……；"): the "二是" sentences after it are its own items, not another list's."""
    for match in _AFTER_COLON.finditer(text):
        rest = text[match.end() :]
        if is_first_item(rest):
            return item_style(rest)
    return None


# Outer to inner: a list of 一是… ends at the next （三） or 三、 heading.
_LEVEL = {"、": 0, "()": 1, ".": 2, "第": 3, "是": 3, "要": 3}


def ends_section(heading: str, text: str) -> bool:
    """Is `text` a heading of the same or a higher level than `heading` (its section ends there)?"""
    if not is_heading(text):
        return False
    return _LEVEL.get(item_style(text) or "", 3) <= _LEVEL.get(item_style(heading) or "", 3)


def following_sentences(
    passages: list[Passage],
    index: int,
    end: int,
    next_chunk: Callable[[Passage], tuple[str, str, dict[str, Any]] | None],
    limit: int = WINDOW,
) -> list[Following]:
    """Up to `limit` sentences after position `end` of passages[index], going on into the next
    chunk of the same speech (appended to passages) when the passage runs out."""
    out: list[Following] = []
    current, position = index, end
    seen: set[str] = set()
    while len(out) < limit:
        passage = passages[current]
        for span in split_sentences(passage.text):
            if span.start < position:
                continue
            text = passage.text[span.start : span.end].strip()
            if len(text) < 2 or text in seen or is_suspicious(text):
                continue
            seen.add(text)
            out.append(Following(current, span.start, span.end, text))
            if len(out) >= limit:
                return out
        following = next_chunk(passage)
        if following is None:
            return out
        chunk_id, text, meta = following
        existing = next((i for i, p in enumerate(passages) if p.chunk_id == chunk_id), None)
        if existing is None:
            passages.append(as_passage(chunk_id, text, meta, passage))
            existing = len(passages) - 1
        seen |= {passage.text[s.start : s.end].strip() for s in split_sentences(passage.text)}
        current, position = existing, 0
    return out


def continuation(lead_text: str, following: Sequence[Following]) -> list[Following]:
    """What the lead announces: the items of the list after it, or a heading's body, or the
    sentences of a semicolon series — never past the next heading of the same or a higher level."""
    if not following:
        return []
    first = [f for f in following[:FIRST_ITEM_WITHIN] if LIST_MARK.match(f.text)]
    lead_style = item_style(lead_text) or inline_item_style(lead_text)
    if first and item_style(first[0].text) != lead_style and not is_first_item(first[0].text):
        if first[0] is following[0]:
            return []  # "（二）…" after the lead: the next section of an earlier list, not the lead's own
        first = []  # the lead's body, then the next section ("三、…"): the body is the answer
    if first and (style := item_style(first[0].text)) != lead_style:
        return _items(style, following)
    if (style := inline_item_style(following[0].text)) and style != lead_style:
        # "为什么……？" then "我看原因主要有三条：一是……；" "二是……；": that sentence opens the list
        return [following[0], *_items(style, following[1:], MAX_ITEMS - 1)]
    if _SEMICOLON_END.search(lead_text.strip()):
        series = []
        for sentence in following[:MAX_ITEMS]:
            series.append(sentence)
            if not _SEMICOLON_END.search(sentence.text):
                break
        return series
    body: list[Following] = []
    for sentence in following[:MAX_ITEMS]:
        if LIST_MARK.match(sentence.text) and is_heading(sentence.text):
            break
        # A semicolon series runs on to its full stop ("“一”就是……；“三”就是……；“五”就是……。").
        if len(body) >= BODY_SENTENCES and not _SEMICOLON_END.search(body[-1].text):
            break
        body.append(sentence)
    return body


def _items(style: str | None, following: Sequence[Following], most: int = MAX_ITEMS) -> list[Following]:
    """The items of one style after a lead, up to the next section (a heading of a higher level)."""
    level = _LEVEL.get(style or "", 3)
    items: list[Following] = []
    for sentence in following:
        sentence_style = item_style(sentence.text)
        if sentence_style == style:
            items.append(sentence)
            if len(items) >= most:
                break
        elif sentence_style is not None and _LEVEL.get(sentence_style, 3) < level and items:
            break  # the next section
    return items


_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def item_number(text: str) -> int | None:
    """The ordinal of a list item (二是 → 2, （三） → 3, 12. → 12, 第十一 → 11), full- or half-width."""
    match = LIST_MARK.match(text.strip())
    if not match:
        return None
    mark = unicodedata.normalize("NFKC", match.group(0))
    if digits := re.search(r"\d+", mark):
        return int(digits.group(0))
    numeral = re.search(r"[一二三四五六七八九十]+", mark)
    if not numeral:
        return None
    tens, _, units = numeral.group(0).rpartition("十")
    if "十" not in numeral.group(0):
        return _DIGITS.get(units) if len(units) == 1 else None
    return (_DIGITS.get(tens, 1) if tens else 1) * 10 + (_DIGITS.get(units, 0) if units else 0)


# The marks of items inside a passage; （一） and 一、 mark outline sections, not reasons of one list.
_INLINE_STYLES = {"是", "要", "第", "."}


def later_items(item_text: str, following: Sequence[Following]) -> list[Following]:
    """The items after an inline list item, in the same list: the same mark, numbered on from it
    (二是 after 一是), up to the next heading of a higher level."""
    style = item_style(item_text)
    number = item_number(item_text)
    if style not in _INLINE_STYLES or number is None:
        return []
    level = _LEVEL.get(style, 3)
    items: list[Following] = []
    for sentence in following:
        sentence_style = item_style(sentence.text)
        if sentence_style == style:
            if item_number(sentence.text) != number + 1:
                break  # another list of the same kind
            items.append(sentence)
            number += 1
            if len(items) >= MAX_ITEMS:
                break
        elif sentence_style is not None and _LEVEL.get(sentence_style, 3) < level:
            break
    return items


def earlier_items(item_text: str, preceding: Sequence[Following]) -> list[Following]:
    """The items before an inline list item, back to the first (一是 … for 三是), in order; the first
    may stand in the sentence that announces the list ("我看主要有三条：一是……；"). None when the
    list cannot be followed back to its first item within the same paragraph."""
    style = item_style(item_text)
    number = item_number(item_text)
    if style not in _INLINE_STYLES or number is None or number <= 1:
        return []
    level = _LEVEL.get(style, 3)
    items: list[Following] = []
    for sentence in reversed(preceding):
        sentence_style = item_style(sentence.text)
        if sentence_style == style and item_number(sentence.text) == number - 1:
            items.append(sentence)
            number -= 1
        elif number - 1 == 1 and inline_item_style(sentence.text) == style:
            items.append(sentence)
            number = 1
        elif sentence_style is not None and _LEVEL.get(sentence_style, 3) <= level:
            return []  # another list, or a heading: not this one
        if number == 1:
            return items[::-1]
    return []


def preceding_sentences(passage: Passage, index: int, start: int) -> list[Following]:
    """The sentences of passages[index] (`passage`) before position `start`, in its paragraph."""
    paragraph = passage.text.rfind("\n", 0, start) + 1
    return [
        Following(index, span.start, span.end, passage.text[span.start : span.end].strip())
        for span in split_sentences(passage.text)
        if paragraph <= span.start and span.end <= start and passage.text[span.start : span.end].strip()
    ]


def as_passage(chunk_id: str, text: str, meta: dict[str, Any], like: Passage) -> Passage:
    """A chunk of the same speech as `like`, fetched by the answer rather than retrieved."""
    return Passage(
        chunk_id=chunk_id,
        text=text,
        speech_title=like.speech_title,
        source=str(meta.get("source", like.source)),
        score=0.0,
        similarity=0.0,
        heading_path=str(meta.get("heading_path", "")),
        speech_id=like.speech_id,
        sources=tuple(meta.get("sources") or like.sources),
        date=meta.get("date", like.date),
        place=meta.get("place", like.place),
    )
