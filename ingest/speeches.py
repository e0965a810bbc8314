"""Speeches: split a page's paragraphs into speeches, then keep each speech once.

A scraped page strings speeches together. A new speech starts at a title line
("在全县……会议上的讲话") or, when the site dropped the title, at a salutation
("同志们:") that follows body text. Pages repeat speeches, sometimes with a
paragraph more or less, so duplicates are found by paragraph containment rather
than exact equality.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ingest import heads
from ingest.heads import GENRE, find_date
from ingest.types import Speech

__all__ = ["deduplicate", "find_date", "find_place", "is_salutation", "is_title", "split_speeches"]

_SENTENCE_PUNCT = re.compile(r"[。！？!?；;:：,，]")
_NUMBERED = re.compile(
    r"^([一二三四五六七八九十]+[、是要]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]|第[一二三四五六七八九十]+[,，、])"
)
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

DUPLICATE_CONTAINMENT = 0.8
_MIN_GLUED_PARAGRAPHS = 3
# Held by more speeches than this, a paragraph is stock text (see _Index), not a sign of one speech.
_COMMON_HOLDERS = 50


def is_title(paragraph: str) -> bool:
    """A short line naming a speech, with no sentence punctuation: '在……会议上的讲话'."""
    return (
        len(paragraph) <= _TITLE_MAX
        and GENRE.search(paragraph) is not None
        and _SENTENCE_PUNCT.search(paragraph) is None
        and _NUMBERED.match(paragraph) is None
    )


def is_salutation(paragraph: str) -> bool:
    return _SALUTATION.match(paragraph) is not None


@dataclass(frozen=True)
class _Head:
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
    head = _Head()
    body: list[str] = []
    dated_file = False  # this file's speeches carry date lines or subtitles

    def flush() -> None:
        if _has_content(body):
            speeches.append(_make_speech(title, body, source, head))

    for at, paragraph in enumerate(paragraphs):
        opening = not _has_content(body)
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
                body, head = [], _Head()
            title, title_date = heads.split_title_date(paragraph)
            head = replace(head, title_date=title_date)
            continue
        starts_file = not speeches and title is None and not body
        if heads.is_candidate_title(paragraph) and (
            starts_file or (not opening and _full_head_follows(paragraphs, at))
        ):
            flush()
            body, head = [], _Head()
            title = paragraph.strip()
            continue
        if is_salutation(paragraph) and not opening:
            flush()
            body, title, head = [], None, _Head()
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


def _with_date_line(head: _Head, line: heads.DateLine) -> _Head:
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


def _has_content(body: list[str]) -> bool:
    return any(not is_salutation(p) for p in body)


def _make_speech(title: str | None, body: list[str], source: str, head: _Head = _Head()) -> Speech:
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


def deduplicate(speeches: Iterable[Speech]) -> list[Speech]:
    """Keep each speech once: when most paragraphs of one appear in another, keep the fuller.

    The kept copy inherits a real title from a dropped one that had it, and the
    list of every source that holds the speech. Order follows first appearance.
    """
    speeches = separate_glued(list(speeches))
    index = _Index(_common_paragraphs(speeches))
    for key, speech in enumerate(speeches):
        index.add(key, speech)

    # Union speeches that contain each other; each group keeps its fullest member.
    parent = list(range(len(speeches)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key in range(len(speeches)):
        for other in index.partners(key):
            smaller = min(len(index.distinct[key]), len(index.distinct[other]))
            if index.shared(key, other) >= DUPLICATE_CONTAINMENT * smaller:
                parent[root(other)] = root(key)

    groups: dict[int, list[int]] = defaultdict(list)
    for key in range(len(speeches)):
        groups[root(key)].append(key)

    kept: list[tuple[int, Speech]] = []
    for members in groups.values():
        best = max(members, key=lambda i: (len(speeches[i].text), speeches[i].titled, -i))
        chosen = speeches[best]
        titled = [speeches[i] for i in members if speeches[i].titled]
        if not chosen.titled and titled:
            donor = titled[0]
            chosen = replace(
                chosen,
                title=donor.title,
                titled=True,
                date=chosen.date or donor.date,
                place=chosen.place or donor.place,
                speaker=chosen.speaker or donor.speaker,
                subtitle=chosen.subtitle or donor.subtitle,
                title_from=donor.title_from,
            )
        # A speech built without a sources list is held by its own source.
        sources = tuple(
            dict.fromkeys(
                src for i in sorted(members) for src in speeches[i].sources or (speeches[i].source,)
            )
        )
        kept.append((min(members), replace(chosen, source=sources[0], sources=sources)))
    return [speech for _, speech in sorted(kept, key=lambda pair: pair[0])]


def separate_glued(speeches: list[Speech]) -> list[Speech]:
    """Split a speech that holds another known speech as a block with text around it.

    Sites sometimes run two speeches together with no title between them; a
    copy of one of them elsewhere on the page (or in another file) shows where
    the seam is. Splits happen one at a time, always in the first speech (in list
    order) that holds such a block, until none does. Only a split's pieces are
    new, so after one the scan goes on from its pieces, and a speech already
    passed over is looked at again only when a new piece is a block inside it.
    """
    by_key = dict(enumerate(speeches))
    order = list(by_key)  # keys in list order; a split puts its pieces' new keys in its place
    position = {key: at for at, key in enumerate(order)}
    index = _Index(_common_paragraphs(speeches))
    for key, speech in by_key.items():
        index.add(key, speech)
    next_key = len(order)
    at = 0  # speeches before `at` hold no block, except those in `pending`
    pending: set[int] = set()
    while pending or at < len(order):
        revisit = bool(pending)
        host = min(pending, key=position.__getitem__) if revisit else order[at]
        pending.discard(host)
        pieces = _split_host(host, by_key, index, position)
        if pieces is None:
            if not revisit:
                at += 1
            continue
        where = position.pop(host)
        index.remove(host)
        del by_key[host]
        new_keys = list(range(next_key, next_key + len(pieces)))
        next_key += len(pieces)
        for key, piece in zip(new_keys, pieces, strict=True):
            by_key[key] = piece
            index.add(key, piece)
        order[where : where + 1] = new_keys
        for i in range(where, len(order)):
            position[order[i]] = i
        if revisit:  # the pieces stand before `at`: look at them too
            at += len(new_keys) - 1
            pending.update(new_keys)
        pending.update(
            container
            for key in new_keys
            for container in index.containers(key)
            if position[container] < at
            and _cut(by_key[container], by_key[key], index.shared(container, key)) is not None
        )
    return [by_key[key] for key in order]


def _split_host(
    host: int, by_key: dict[int, Speech], index: _Index, position: dict[int, int]
) -> list[Speech] | None:
    """The pieces of the first speech (in list order) that is a block inside this one."""
    size = len(index.distinct[host])
    for guest in sorted(index.partners(host), key=position.__getitem__):
        if not _MIN_GLUED_PARAGRAPHS <= len(index.distinct[guest]) < size:
            continue  # _cut's first test, without counting what they share
        pieces = _cut(by_key[host], by_key[guest], index.shared(host, guest))
        if pieces is not None:
            return pieces
    return None


def _cut(host: Speech, guest: Speech, count: int) -> list[Speech] | None:
    """Host split around guest, when guest (sharing `count` distinct paragraphs) is one block inside it."""
    guest_paragraphs = {paragraph_key(p) for p in guest.paragraphs}
    size = len(guest_paragraphs)
    if size < _MIN_GLUED_PARAGRAPHS or size >= len({paragraph_key(p) for p in host.paragraphs}):
        return None
    if count < DUPLICATE_CONTAINMENT * size:
        return None
    where = {paragraph_key(p): i for i, p in reversed(list(enumerate(host.paragraphs)))}
    positions = sorted(where[p] for p in guest_paragraphs if p in where)
    start, stop = positions[0], positions[-1] + 1
    if stop - start > len(guest.paragraphs) + 2:
        return None  # scattered, not one block
    parts = [host.paragraphs[:start], host.paragraphs[start:stop], host.paragraphs[stop:]]
    outside = [p for part in (parts[0], parts[2]) for p in part if not is_salutation(p)]
    if len(outside) < _MIN_GLUED_PARAGRAPHS:
        return None
    pieces = []
    for number, part in enumerate(parts):
        if _has_content(list(part)):
            first = number == 0 and host.titled
            title = host.title if first else None
            head = (
                _Head(date=host.date, place=host.place, speaker=host.speaker, subtitle=host.subtitle)
                if first
                else _Head()
            )
            pieces.append(replace(_make_speech(title, list(part), host.source, head), sources=host.sources))
    return pieces or None


def _common_paragraphs(speeches: Iterable[Speech]) -> frozenset[str]:
    """Salutations, and paragraphs more than _COMMON_HOLDERS speeches hold: no sign two speeches are one."""
    held = Counter(p for speech in speeches for p in {paragraph_key(q) for q in speech.paragraphs})
    return frozenset(p for p, n in held.items() if n > _COMMON_HOLDERS or is_salutation(p))


def paragraph_key(paragraph: str) -> str:
    """Two copies of a paragraph that differ only in punctuation width or spacing are one."""
    return heads.fold(paragraph)


class _Index:
    """Which speeches hold each paragraph, to find the few that may contain one another.

    Comparing every two speeches that share a paragraph is quadratic: "同志们:"
    alone is in a third of them. A speech B is "mostly inside" A when they share
    at least DUPLICATE_CONTAINMENT of B's distinct paragraphs. If they share only
    common paragraphs, B must itself be mostly common paragraphs (a fragment such
    as a lone salutation). So partners() looks up uncommon paragraphs in full and
    common ones only among such mostly-common speeches: it finds every B mostly
    inside A, without the pairs that cannot pass. shared() counts exactly, so the
    containment tests see the same numbers as a comparison of every pair would.
    """

    def __init__(self, common: frozenset[str]) -> None:
        self.common = common
        self.distinct: dict[int, frozenset[str]] = {}
        self.mostly_common: set[int] = set()
        self.holders: dict[str, set[int]] = defaultdict(set)  # every holder of every paragraph
        self.common_holders: dict[str, set[int]] = defaultdict(set)  # mostly-common holders only

    def add(self, key: int, speech: Speech) -> None:
        distinct = frozenset(paragraph_key(p) for p in speech.paragraphs)
        self.distinct[key] = distinct
        common = [p for p in distinct if p in self.common]
        if distinct and len(common) >= DUPLICATE_CONTAINMENT * len(distinct):
            self.mostly_common.add(key)
            for paragraph in common:
                self.common_holders[paragraph].add(key)
        for paragraph in distinct:
            self.holders[paragraph].add(key)

    def remove(self, key: int) -> None:
        for paragraph in self.distinct.pop(key):
            self.holders[paragraph].discard(key)
            self.common_holders.get(paragraph, set()).discard(key)
        self.mostly_common.discard(key)

    def shared(self, key: int, other: int) -> int:
        """How many distinct paragraphs the two speeches share."""
        return len(self.distinct[key] & self.distinct[other])

    def partners(self, key: int) -> set[int]:
        """Every other speech that shares a paragraph with this one and may be mostly inside it."""
        found: set[int] = set()
        for paragraph in self.distinct[key]:
            held = self.common_holders if paragraph in self.common else self.holders
            found.update(held.get(paragraph, ()))
        found.discard(key)
        return found

    def containers(self, key: int) -> set[int]:
        """Every other speech this one may be mostly inside: those whose partners() include it."""
        mostly_common = key in self.mostly_common
        found: set[int] = set()
        for paragraph in self.distinct[key]:
            if mostly_common or paragraph not in self.common:
                found.update(self.holders[paragraph])
        found.discard(key)
        return found
