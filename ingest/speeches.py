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
from dataclasses import dataclass, field, replace

from ingest import heads
from ingest.heads import GENRE, find_date
from ingest.index.text import LIST_MARK
from ingest.types import Speech

__all__ = ["find_date", "find_place", "is_salutation", "is_title", "split_speeches"]

_SENTENCE_PUNCT = re.compile(r"[。！？!?；;:：,，]")
_SALUTATION = re.compile(
    r"^(各位[^。！？]{0,24}?[、,，])?(同志们|各位(领导|代表|来宾|同事|委员|嘉宾)[^。！？]{0,16}?)[:：!！,，]?$"
)
# Longer than this, a line naming a meeting is a sentence about it, not a title.
_TITLE_MAX = 60
# Opening words standing in for a title are cut here, so lists of results stay one line each.
_UNTITLED_TITLE_LEN = 24
# A speech's date and place, when no head line gives them, are stated in its first lines if at all.
_OPENING_PARAGRAPHS = 3

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
    splitter = _Splitter(paragraphs, source)
    for at, paragraph in enumerate(paragraphs):
        splitter.take(at, paragraph)
    splitter.flush()
    return _title_lone_speech_from_file_name(splitter.speeches, source)


@dataclass
class _Splitter:
    """One pass over a page: each line is decided knowing only the speech collected so far and
    the lines that follow it, so the rules below read in the order they are tried."""

    paragraphs: list[str]
    source: str
    speeches: list[Speech] = field(default_factory=list)
    title: str | None = None
    head: SpeechHead = field(default_factory=SpeechHead)
    body: list[str] = field(default_factory=list)
    dated_file: bool = False  # this file's speeches carry date lines or subtitles

    def take(self, at: int, paragraph: str) -> None:
        """Head lines first, then titles, then a salutation; anything else is body text."""
        opening = not has_content(self.body)
        date_line = heads.parse_date_line(paragraph)
        if self._take_head_line(paragraph, opening, date_line):
            return
        if is_title(paragraph) and not heads.is_table_row(paragraph):
            self._take_title(at, paragraph, opening)
            return
        if self._take_candidate_title(at, paragraph, opening):
            return
        if is_salutation(paragraph) and not opening:
            self._start_speech(None)
        self.body.append(paragraph)

    def flush(self) -> None:
        """A speech is kept only when it has more than salutations."""
        if has_content(self.body):
            self.speeches.append(make_speech(self.title, self.body, self.source, self.head))

    def _start_speech(self, title: str | None) -> None:
        """What was collected is a finished speech; the next starts bare, as its head lines follow."""
        self.flush()
        self.body, self.title, self.head = [], title, SpeechHead()

    def _take_head_line(self, paragraph: str, opening: bool, date_line: heads.DateLine | None) -> bool:
        """Date, subtitle, place and speaker lines describe the speech and stay out of its text."""
        if not opening:
            if date_line is not None and self.head.closing_date in (None, date_line.date):
                # A date under the closing signature: when the speech was given.
                self.head = replace(self.head, closing_date=date_line.date)
                return True
            return False
        subtitle = heads.subtitle_of(paragraph)
        if subtitle is not None and self.title is not None and self.head.subtitle is None:
            self.head, self.dated_file = replace(self.head, subtitle=subtitle), True
            return True
        if date_line is not None:
            self.head, self.dated_file = _with_date_line(self.head, date_line), True
            return True
        if (place := heads.place_line(paragraph)) is not None:
            self.head = replace(self.head, place=self.head.place or place)
            return True
        if self.title is not None and not self.body and heads.is_speaker_line(paragraph):
            self.head = replace(self.head, speaker=self.head.speaker or paragraph.strip())
            return True
        return False

    def _take_title(self, at: int, paragraph: str, opening: bool) -> None:
        """After body text a title may only be quoted; before any, it names the coming speech."""
        if not opening:
            if not _starts_speech(self.paragraphs, at, self.dated_file):
                self.body.append(paragraph)  # a meeting's title quoted in the text
                return
            self.flush()
            self.body, self.head = [], SpeechHead()
        self.title, title_date = heads.split_title_date(paragraph)
        self.head = replace(self.head, title_date=title_date)

    def _take_candidate_title(self, at: int, paragraph: str, opening: bool) -> bool:
        """A short line without a genre word is too common to trust unless the file opens with
        it or a full head follows it."""
        starts_file = not self.speeches and self.title is None and not self.body
        if heads.is_candidate_title(paragraph) and (
            starts_file or (not opening and _full_head_follows(self.paragraphs, at))
        ):
            self._start_speech(paragraph.strip())
            return True
        return False


def _title_lone_speech_from_file_name(speeches: list[Speech], source: str) -> list[Speech]:
    """A file holding one untitled speech is usually named for it: a better title than its
    opening words."""
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
    opening = "\n".join(body[:_OPENING_PARAGRAPHS])
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
