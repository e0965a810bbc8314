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
from dataclasses import replace

from ingest.types import Speech

_GENRE = re.compile(r"(讲话|发言|致辞|讲稿|报告|动员令|总结)")
_SENTENCE_PUNCT = re.compile(r"[。！？!?；;:：,，]")
_NUMBERED = re.compile(
    r"^([一二三四五六七八九十]+[、是要]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．]|第[一二三四五六七八九十]+[,，、])"
)
_SALUTATION = re.compile(
    r"^(各位[^。！？]{0,24}?[、,，])?(同志们|各位(领导|代表|来宾|同事|委员|嘉宾)[^。！？]{0,16}?)[:：!！,，]?$"
)
_TITLE_MAX = 60
_UNTITLED_TITLE_LEN = 24

_FULL_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_UNIT = r"(?:省|自治区|市|自治州|县|区|镇|乡)"
# Only explicit statements: "在铜仁市召开", "沙道观镇经济社会发展" is too loose to trust.
_PLACE = re.compile(
    rf"(?:[在于赴到])([\u4e00-\u9fff]{{2,6}}?{_UNIT})(?=召开|举行|[,，。、]|委|人民政府|政府|第|\d|$)"
)
_GENERIC_PLACE = re.compile(r"^(全|我|本|该|各|今|这|此|市|县|区|镇|乡|省|[xX×])")
_SCOPE = re.compile(rf"[全我本]({_UNIT})")

DUPLICATE_CONTAINMENT = 0.8
_MIN_GLUED_PARAGRAPHS = 3


def is_title(paragraph: str) -> bool:
    """A short line naming a speech, with no sentence punctuation: '在……会议上的讲话'."""
    return (
        len(paragraph) <= _TITLE_MAX
        and _GENRE.search(paragraph) is not None
        and _SENTENCE_PUNCT.search(paragraph) is None
        and _NUMBERED.match(paragraph) is None
    )


def is_salutation(paragraph: str) -> bool:
    return _SALUTATION.match(paragraph) is not None


def split_speeches(paragraphs: list[str], source: str) -> list[Speech]:
    """Cut a page at its title lines, and at salutations that follow body text."""
    speeches: list[Speech] = []
    title: str | None = None
    body: list[str] = []

    def flush() -> None:
        if body:
            speeches.append(_make_speech(title, body, source))

    for paragraph in paragraphs:
        if is_title(paragraph):
            if _has_content(body):
                flush()
                body = []
            title = paragraph  # of two title lines in a row, the nearer one names the speech
            continue
        if is_salutation(paragraph) and _has_content(body):
            flush()
            body, title = [], None
        body.append(paragraph)
    flush()
    return speeches


def _has_content(body: list[str]) -> bool:
    return any(not is_salutation(p) for p in body)


def _make_speech(title: str | None, body: list[str], source: str) -> Speech:
    text = "\n".join(body)
    heading = "\n".join([title or "", *body[:3]])
    return Speech(
        title=title or untitled_title(body),
        paragraphs=tuple(body),
        source=source,
        titled=title is not None,
        date=find_date(heading),
        place=find_place(heading),
        scope=find_scope(text),
        sources=(source,),
    )


def untitled_title(body: list[str]) -> str:
    """The opening words stand in for a title the site dropped."""
    opening = next((p for p in body if not is_salutation(p)), body[0])
    first = re.split(r"(?<=[。！？；;])", opening, maxsplit=1)[0]
    return first if len(first) <= _UNTITLED_TITLE_LEN else first[:_UNTITLED_TITLE_LEN] + "…"


def find_date(text: str) -> str | None:
    """The first full date the text states (YYYY-MM-DD), else a stated year."""
    if match := _FULL_DATE.search(text):
        year, month, day = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    if match := _YEAR.search(text):
        return match.group(1)
    return None


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
    holders = _paragraph_holders(speeches)

    # Union speeches that contain each other; each group keeps its fullest member.
    parent = list(range(len(speeches)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, speech in enumerate(speeches):
        for other, count in _shared_counts(index, speech, holders).items():
            smaller = min(len(set(speech.paragraphs)), len(set(speeches[other].paragraphs)))
            if count >= DUPLICATE_CONTAINMENT * smaller:
                parent[root(other)] = root(index)

    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(speeches)):
        groups[root(index)].append(index)

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
            )
        sources = tuple(dict.fromkeys(src for i in sorted(members) for src in speeches[i].sources))
        kept.append((min(members), replace(chosen, source=sources[0], sources=sources)))
    return [speech for _, speech in sorted(kept, key=lambda pair: pair[0])]


def separate_glued(speeches: list[Speech]) -> list[Speech]:
    """Split a speech that holds another known speech as a block with text around it.

    Sites sometimes run two speeches together with no title between them; a
    copy of one of them elsewhere on the page (or in another file) shows where
    the seam is.
    """
    result = list(speeches)
    changed = True
    while changed:
        changed = False
        holders = _paragraph_holders(result)
        for index, host in enumerate(result):
            pieces = _split_host(index, host, result, holders)
            if pieces:
                result[index : index + 1] = pieces
                changed = True
                break
    return result


def _split_host(
    index: int, host: Speech, speeches: list[Speech], holders: dict[str, set[int]]
) -> list[Speech] | None:
    where = {p: i for i, p in reversed(list(enumerate(host.paragraphs)))}
    for other, count in _shared_counts(index, host, holders).items():
        guest = speeches[other]
        size = len(set(guest.paragraphs))
        if size < _MIN_GLUED_PARAGRAPHS or size >= len(set(host.paragraphs)):
            continue
        if count < DUPLICATE_CONTAINMENT * size:
            continue
        positions = sorted(where[p] for p in set(guest.paragraphs) if p in where)
        start, stop = positions[0], positions[-1] + 1
        if stop - start > len(guest.paragraphs) + 2:
            continue  # scattered, not one block
        parts = [host.paragraphs[:start], host.paragraphs[start:stop], host.paragraphs[stop:]]
        outside = [p for part in (parts[0], parts[2]) for p in part if not is_salutation(p)]
        if len(outside) < _MIN_GLUED_PARAGRAPHS:
            continue
        pieces = []
        for number, part in enumerate(parts):
            if _has_content(list(part)):
                title = host.title if number == 0 and host.titled else None
                pieces.append(replace(_make_speech(title, list(part), host.source), sources=host.sources))
        return pieces
    return None


def _paragraph_holders(speeches: list[Speech]) -> dict[str, set[int]]:
    holders: dict[str, set[int]] = defaultdict(set)
    for index, speech in enumerate(speeches):
        for paragraph in speech.paragraphs:
            holders[paragraph].add(index)
    return holders


def _shared_counts(index: int, speech: Speech, holders: dict[str, set[int]]) -> dict[int, int]:
    """How many distinct paragraphs each other speech shares with this one."""
    shared: dict[int, int] = defaultdict(int)
    for paragraph in set(speech.paragraphs):
        for other in holders[paragraph]:
            if other != index:
                shared[other] += 1
    return shared
