"""Speeches: split a page's paragraphs into speeches, then keep each speech once.

A scraped page strings speeches together. A new speech starts at a title line
("在全县……会议上的讲话") or, when the site dropped the title, at a salutation
("同志们:") that follows body text. Pages repeat speeches, sometimes with a
paragraph more or less, so duplicates are found by paragraph containment rather
than exact equality: that is ingest/dedupe.py.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from ingest import heads
from ingest.heads import GENRE, find_date
from ingest.index.text import LIST_MARK
from ingest.types import Speech

__all__ = ["find_date", "find_place", "is_salutation", "is_title", "split_speeches"]

_SENTENCE_PUNCT = re.compile(r"[。！？!?；;:：,，]")
_SALUTATION = re.compile(
    r"^(各位[^。！？]{0,24}?[、,，])?(同志们|各位(领导|代表|来宾|同事|委员|嘉宾)[^。！？]{0,16}?)[:：!！,，]?$"
)
_TITLE_MAX = 60
_UNTITLED_TITLE_LEN = 24

_UNIT = r"(?:省|自治区|市|自治州|县|区|镇|乡)"
# Only explicit statements: "在铜仁市召开", "沙道观镇经济社会发展" is too loose to trust.
_PLACE = re.compile(
    rf"(?:[在于赴到])([\u4e00-\u9fff]{{2,6}}?{_UNIT})(?=召开|举行|[,，。、]|委|人民政府|政府|第|\d|$)"
)
_GENERIC_PLACE = re.compile(r"^(全|我|本|该|各|今|这|此|市|县|区|镇|乡|省|[xX×])")
_SCOPE = re.compile(rf"[全我本]({_UNIT})")


def is_title(paragraph: str) -> bool:
    """A short line naming a speech, with no sentence punctuation: '在……会议上的讲话'."""
    return (
        len(paragraph) <= _TITLE_MAX
        and GENRE.search(paragraph) is not None
        and _SENTENCE_PUNCT.search(paragraph) is None
        and LIST_MARK.match(paragraph) is None
    )


def is_salutation(paragraph: str) -> bool:
    return _SALUTATION.match(paragraph) is not None


@dataclass(frozen=True)
class SpeechHead:
    """What the lines around a title said about its speech (see ingest.heads)."""

    date: str | None = None  # a date line under the title
    title_date: str | None = None  # a date on the title line itself
    closing_date: str | None = None  # a date line under the closing signature
    place: str | None = None
    speaker: str | None = None
    subtitle: str | None = None


def split_speeches(paragraphs: list[str], source: str) -> list[Speech]:
    """Cut a page into speeches, keeping head lines (date, speaker, subtitle) out of the text.

    A speech starts at a title line, and at a salutation that follows body text.
    A title that follows body text starts a speech when its own head follows it
    (a date line, a subtitle or a salutation); without one it still does on a page
    of bare titles and bodies, but not where it looks cited (《…》, after a "：")
    nor in a file whose speeches carry date lines: there it is a quoted title.
    A short line without a genre word is a title at the top of a file, or when a
    full head (date line, then a salutation or body) follows it.
    """
    speeches: list[Speech] = []
    title: str | None = None
    head = SpeechHead()
    body: list[str] = []
    dated_file = False  # this file's speeches carry date lines or subtitles

    def flush() -> None:
        if has_content(body):
            speeches.append(make_speech(title, body, source, head))

    for at, paragraph in enumerate(paragraphs):
        opening = not has_content(body)
        date_line = heads.parse_date_line(paragraph)
        if opening:
            subtitle = heads.subtitle_of(paragraph)
            if subtitle is not None and title is not None and head.subtitle is None:
                head, dated_file = replace(head, subtitle=subtitle), True
                continue
            if date_line is not None:
                head, dated_file = _with_date_line(head, date_line), True
                continue
            if (place := heads.place_line(paragraph)) is not None:
                head = replace(head, place=head.place or place)
                continue
            if title is not None and not body and heads.is_speaker_line(paragraph):
                head = replace(head, speaker=head.speaker or paragraph.strip())
                continue
        elif date_line is not None and head.closing_date in (None, date_line.date):
            # A date under the closing signature: when the speech was given.
            head = replace(head, closing_date=date_line.date)
            continue
        if is_title(paragraph) and not heads.is_table_row(paragraph):
            if not opening:
                if not _starts_speech(paragraphs, at, dated_file):
                    body.append(paragraph)  # a meeting's title quoted in the text
                    continue
                flush()
                body, head = [], SpeechHead()
            title, title_date = heads.split_title_date(paragraph)
            head = replace(head, title_date=title_date)
            continue
        starts_file = not speeches and title is None and not body
        if heads.is_candidate_title(paragraph) and (
            starts_file or (not opening and _full_head_follows(paragraphs, at))
        ):
            flush()
            body, head = [], SpeechHead()
            title = paragraph.strip()
            continue
        if is_salutation(paragraph) and not opening:
            flush()
            body, title, head = [], None, SpeechHead()
        body.append(paragraph)
    flush()
    if len(speeches) == 1 and not speeches[0].titled:
        named = heads.title_from_file_name(source)
        if named is not None:
            speeches[0] = replace(speeches[0], title=named, title_from=TITLE_FROM_FILE_NAME)
    return speeches


TITLE_FROM_TEXT = "text"
TITLE_FROM_FILE_NAME = "file name"
TITLE_FROM_OPENING = "opening words"
# Head lines (speaker, subtitle, place) that may stand between a title and its date line.
_HEAD_LINES_MAX = 3


def _with_date_line(head: SpeechHead, line: heads.DateLine) -> SpeechHead:
    return replace(
        head,
        date=head.date or line.date,
        place=head.place or line.place,
        speaker=head.speaker or line.speaker,
    )


def _head_after(paragraphs: list[str], at: int) -> tuple[bool, int]:
    """Whether a date line or subtitle follows line `at` among its head lines, and where the head ends."""
    dated = False
    j = at + 1
    while j < len(paragraphs) and j <= at + _HEAD_LINES_MAX:
        line = paragraphs[j]
        if heads.parse_date_line(line) is not None or heads.subtitle_of(line) is not None:
            dated = True
        elif not (heads.is_speaker_line(line) or heads.place_line(line)):
            break
        j += 1
    return dated, j


def _starts_speech(paragraphs: list[str], at: int, dated_file: bool) -> bool:
    """Does the title line at `at`, after body text, start a new speech?"""
    dated, end = _head_after(paragraphs, at)
    if dated or (end < len(paragraphs) and is_salutation(paragraphs[end])):
        return True
    previous = paragraphs[at - 1].rstrip() if at else ""
    cited = heads.looks_quoted(paragraphs[at]) or previous.endswith(("：", ":"))
    return not (cited or dated_file)


def _full_head_follows(paragraphs: list[str], at: int) -> bool:
    """A short line mid-file is a title only under a full head: a date line, then a salutation
    or body text. A signature over a closing date is followed by a title or nothing."""
    dated, end = _head_after(paragraphs, at)
    if not dated or end >= len(paragraphs):
        return False
    following = paragraphs[end]
    return is_salutation(following) or not (is_title(following) or heads.is_candidate_title(following))


def has_content(body: list[str]) -> bool:
    return any(not is_salutation(p) for p in body)


def make_speech(title: str | None, body: list[str], source: str, head: SpeechHead = SpeechHead()) -> Speech:
    text = "\n".join(body)
    opening = "\n".join(body[:3])
    heading = "\n".join([title or "", opening])
    return Speech(
        title=title or untitled_title(body),
        paragraphs=tuple(body),
        source=source,
        titled=title is not None,
        date=head.date or head.title_date or head.closing_date or find_date(opening),
        place=head.place
        or find_place(head.subtitle or "")
        or find_place(heading)
        or heads.title_place(title or "")
        or heads.title_place(head.subtitle or ""),
        scope=find_scope(text),
        sources=(source,),
        speaker=head.speaker
        or heads.speaker_in_title(title or "")
        or heads.speaker_in_title(head.subtitle or ""),
        subtitle=head.subtitle,
        title_from=TITLE_FROM_TEXT if title is not None else TITLE_FROM_OPENING,
    )


def untitled_title(body: list[str]) -> str:
    """The opening words stand in for a title the site dropped."""
    opening = next((p for p in body if not is_salutation(p)), body[0])
    first = re.split(r"(?<=[。！？；;])", opening, maxsplit=1)[0]
    return first if len(first) <= _UNTITLED_TITLE_LEN else first[:_UNTITLED_TITLE_LEN] + "…"


def find_place(text: str) -> str | None:
    """A named place the text states plainly ("在铜仁市召开"); never a generic 全县."""
    for line in text.split("\n"):
        for match in _PLACE.finditer(line):
            place = match.group(1)
            if not _GENERIC_PLACE.match(place):
                return place
    return None


def find_scope(text: str) -> str | None:
    """The level the speaker governs, from how often they say 全县/我县 etc.: '县'."""
    counts = Counter(match.group(1) for match in _SCOPE.finditer(text))
    return counts.most_common(1)[0][0] if counts else None
