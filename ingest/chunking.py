"""Chunking for Chinese speeches: whole sentences, numbered items kept with their bodies.

A chunk is a verbatim slice of the speech text, so a quote shown to a user is
exactly what the speech says. Chunks break at paragraph ends when they can,
never inside a sentence, and start a new chunk at a numbered heading. The one
exception: a "sentence" longer than the chunk maximum (a page without
punctuation) is cut at its clauses (，、；：), else every ``maximum`` characters,
so no chunk is ever longer than ``ChunkSpec.maximum``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.index.text import SENTENCE_ENDS, Sentence, split_sentences
from ingest.types import Chunk, Speech

_HEADING_LEVELS = (
    (1, re.compile(r"^([一二三四五六七八九十]+、|第[一二三四五六七八九十]+(部分|章|节)?[,，、:：\s])")),
    (2, re.compile(r"^[(（][一二三四五六七八九十]+[)）]")),
    (
        3,
        re.compile(
            r"^(\d{1,2}[.、．](?!\d)|[(（]\d{1,2}[)）]|[一二三四五六七八九十]+[是要]|第[一二三四五六七八九十]+是)"
        ),
    ),
)
_CLAUSE_END = re.compile(r"[,，。：:；;！!？?]")
# Where an over-long sentence may be cut, best first: after a clause mark, else anywhere.
_CLAUSE_CUTS = "，、,；;：:"
# A heading's first clause can run on; a path shows at most this much of it.
_HEADING_LABEL_MAX = 30
# Heading levels that open a section (一、 and (一)): a chunk breaks there once it reaches the
# minimum, so a section's opening is not buried at the end of the previous one.
_SECTION_LEVELS = (1, 2)
# Longer than this, a heading line carries its own body text and may end a chunk.
_HEADING_ONLY_MAX = 40


@dataclass(frozen=True)
class ChunkSpec:
    """How big chunks should be, in characters."""

    target: int = 350
    maximum: int = 500
    minimum: int = 80
    overlap_sentences: int = 1


def heading_level(paragraph: str) -> int | None:
    """1 for 一、, 2 for (一), 3 for 1. / 一是 / 一要; None for body text."""
    for level, pattern in _HEADING_LEVELS:
        if pattern.match(paragraph):
            return level
    return None


def heading_label(paragraph: str) -> str:
    """The heading's own words: its first clause ("二、进一步明确重点")."""
    clause = _CLAUSE_END.split(paragraph, maxsplit=1)[0]
    return clause[:_HEADING_LABEL_MAX]


def heading_paths(paragraphs: tuple[str, ...]) -> list[str]:
    """For each paragraph, the headings it sits under: "二、… > (三)…"."""
    stack: dict[int, str] = {}
    paths: list[str] = []
    for paragraph in paragraphs:
        level = heading_level(paragraph)
        if level is not None:
            stack = {lv: label for lv, label in stack.items() if lv < level}
            stack[level] = heading_label(paragraph)
        paths.append(" > ".join(stack[lv] for lv in sorted(stack)))
    return paths


def _is_heading_only(paragraph: str) -> bool:
    """A heading line with no body of its own, which must not end a chunk."""
    if heading_level(paragraph) is None:
        return False
    body = paragraph.rstrip("。:：")
    return len(body) <= _HEADING_ONLY_MAX and not any(ch in SENTENCE_ENDS for ch in body)


def chunk_speech(speech: Speech, spec: ChunkSpec = ChunkSpec()) -> list[Chunk]:
    """Pack whole sentences into chunks of about ``spec.target`` characters."""
    text = speech.text
    sentences, pieces = _bounded(split_sentences(text), text, spec.maximum)
    if not sentences:
        return []
    groups = _group_sentences(sentences, pieces, speech.paragraphs, spec)
    return _make_chunks(speech, text, sentences, groups)


def _group_sentences(
    sentences: list[Sentence], pieces: set[int], paragraphs: tuple[str, ...], spec: ChunkSpec
) -> list[list[int]]:
    """Sentence indices per chunk, in order: one pass, so each break is decided knowing only the
    chunk so far and the sentence that would join it."""
    levels = [heading_level(p) for p in paragraphs]
    heading_only = [_is_heading_only(p) for p in paragraphs]
    groups: list[list[int]] = []
    current: list[int] = []
    for k, sentence in enumerate(sentences):
        if current and _breaks_before(sentence, current, sentences, levels, spec):
            current = _close_group(groups, current, k, sentences, pieces, heading_only, spec)
        current.append(k)
    if current:
        _add_last_group(groups, current, sentences, spec)
    return groups


def _span(indices: list[int], sentences: list[Sentence]) -> int:
    """Characters from the first sentence's start to the last one's end, gaps included."""
    return sentences[indices[-1]].end - sentences[indices[0]].start


def _breaks_before(
    sentence: Sentence,
    current: list[int],
    sentences: list[Sentence],
    levels: list[int | None],
    spec: ChunkSpec,
) -> bool:
    """Never past the maximum; a paragraph end is a good place once the target is reached, and a
    new section (一、 or (一)) is worth a break as soon as the chunk is not a scrap."""
    size = _span(current, sentences)
    grown = sentence.end - sentences[current[0]].start
    at_paragraph = sentence.opens_paragraph
    at_section = at_paragraph and levels[sentence.paragraph] in _SECTION_LEVELS
    return (
        grown > spec.maximum
        or (at_paragraph and size >= spec.target)
        or (at_section and size >= spec.minimum)
    )


def _close_group(
    groups: list[list[int]],
    current: list[int],
    k: int,
    sentences: list[Sentence],
    pieces: set[int],
    heading_only: list[bool],
    spec: ChunkSpec,
) -> list[int]:
    """Emit the chunk so far and return what the next one starts with: trailing headings belong
    with their body, else an overlap sentence keeps context (never a cut piece, which would
    repeat half a sentence)."""
    sentence = sentences[k]
    carried = _trailing_headings(current, sentences, heading_only)
    emitted = current[: len(current) - len(carried)]
    if emitted:
        groups.append(emitted)
        overlap = [] if pieces & {*emitted, k} else _overlap(emitted, sentence, sentences, spec)
        current = carried or overlap
    else:
        current = carried
    if current and sentence.end - sentences[current[0]].start > spec.maximum:
        groups.append(current)  # headings that cannot share a chunk with the next piece
        current = []
    return current


def _add_last_group(
    groups: list[list[int]], current: list[int], sentences: list[Sentence], spec: ChunkSpec
) -> None:
    """A scrap at the end of a speech joins the chunk before it when both fit in one, so no
    search result is a lone closing sentence."""
    if (
        groups
        and _span(current, sentences) < spec.minimum
        and (sentences[current[-1]].end - sentences[groups[-1][0]].start <= spec.maximum)
    ):
        groups[-1] = sorted(set(groups[-1]) | set(current))
    else:
        groups.append(current)


def _make_chunks(
    speech: Speech, text: str, sentences: list[Sentence], groups: list[list[int]]
) -> list[Chunk]:
    """Each group as a verbatim slice of the text, with the speech's metadata on every chunk so a
    search hit can be cited and filtered on its own."""
    paths = heading_paths(speech.paragraphs)
    speech_id = speech.speech_id  # a hash of the whole text: once, not once per chunk
    chunks = []
    for position, group in enumerate(groups):
        first, last = sentences[group[0]], sentences[group[-1]]
        chunks.append(
            Chunk(
                speech_id=speech_id,
                speech_title=speech.title,
                source=speech.source,
                position=position,
                start=first.start,
                end=last.end,
                text=text[first.start : last.end],
                heading_path=paths[first.paragraph],
                sources=speech.sources or (speech.source,),
                date=speech.date,
                place=speech.place,
                scope=speech.scope,
                speaker=speech.speaker,
            )
        )
    return chunks


def _bounded(sentences: list[Sentence], text: str, maximum: int) -> tuple[list[Sentence], set[int]]:
    """Cut every sentence longer than ``maximum`` into pieces no longer than it: after the last
    clause mark in the second half of each window, else at the window's end. Returns the
    sentences and the indices of the pieces (which never repeat as overlap)."""
    if all(s.end - s.start <= maximum for s in sentences):
        return sentences, set()
    out: list[Sentence] = []
    pieces: set[int] = set()
    for sentence in sentences:
        if sentence.end - sentence.start <= maximum:
            out.append(sentence)
            continue
        start, opens = sentence.start, sentence.opens_paragraph
        while start < sentence.end:
            end = min(start + maximum, sentence.end)
            if end < sentence.end:
                floor = start + maximum // 2
                cut = max(text.rfind(mark, floor, end) for mark in _CLAUSE_CUTS)
                if cut >= floor:
                    end = cut + 1
            if text[start:end].strip():
                pieces.add(len(out))
                out.append(Sentence(start, end, sentence.paragraph, opens))
                opens = False
            start = end
    return out, pieces


def _trailing_headings(current: list[int], sentences: list[Sentence], heading_only: list[bool]) -> list[int]:
    """Heading lines at the end of a chunk move on to the chunk that holds their body."""
    carried: list[int] = []
    for index in reversed(current):
        if heading_only[sentences[index].paragraph]:
            carried.insert(0, index)
        else:
            break
    return carried


def _overlap(
    emitted: list[int], following: Sentence, sentences: list[Sentence], spec: ChunkSpec
) -> list[int]:
    """Repeat the last sentence(s) when a chunk breaks mid-paragraph, so context carries over."""
    if following.opens_paragraph or spec.overlap_sentences <= 0:
        return []
    tail = emitted[-spec.overlap_sentences :]
    if len(tail) == len(emitted):
        return []
    if following.end - sentences[tail[0]].start > spec.maximum:
        return []
    return tail
