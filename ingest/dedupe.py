"""Keep each speech once: pages repeat speeches, sometimes with a paragraph more or less, and
sometimes glue one speech's tail onto another's head.

Duplicates are found by paragraph containment rather than exact equality, through an inverted
index of paragraphs so a thousand speeches are not compared pair by pair.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace

from ingest import heads
from ingest.speeches import SpeechHead, has_content, is_salutation, make_speech
from ingest.types import Speech

__all__ = ["deduplicate", "paragraph_key", "separate_glued"]

DUPLICATE_CONTAINMENT = 0.8
_MIN_GLUED_PARAGRAPHS = 3
# Held by more speeches than this, a paragraph is stock text (see _Index), not a sign of one speech.
_COMMON_HOLDERS = 50


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
        if has_content(list(part)):
            first = number == 0 and host.titled
            title = host.title if first else None
            head = (
                SpeechHead(date=host.date, place=host.place, speaker=host.speaker, subtitle=host.subtitle)
                if first
                else SpeechHead()
            )
            pieces.append(replace(make_speech(title, list(part), host.source, head), sources=host.sources))
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
