"""Quoting what a chosen sentence announces: the list after a lead, a heading's body, the items
after "还存在一些问题和差距。" — across chunks of the same speech (see rag.answer.continuation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.index.text import LIST_MARK
from rag.answer.continuation import (
    WINDOW,
    continuation,
    following_sentences,
    is_first_item,
    is_question,
    needs_continuation,
)
from rag.answer.scoring import Sentence
from rag.answer.selection import repeats
from rag.types import Passage

NextChunk = Callable[[Passage], tuple[str, str, dict[str, Any]] | None]


def follow_lead(
    chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk, *, wants_set: bool = False
) -> list[Sentence]:
    """When the best sentence only announces the answer — restates the question, is a heading,
    or opens a list — quote what follows it (items, the heading's body), across chunks of the
    same speech (appended to passages); a restated question is not quoted at all."""
    lead = chosen[0]
    if not needs_continuation(lead.text):
        return follow_list(chosen, passages, next_chunk) if wants_set else chosen
    # One item quoted after a heading is the sentence that follows it, not the list (that has more).
    lists_already = (
        sum(
            s.passage == lead.passage and s.start >= lead.end and bool(LIST_MARK.match(s.text))
            for s in chosen[1:]
        )
        >= 2
    )
    if lists_already and not is_question(lead.text):
        return chosen
    following = following_sentences(passages, lead.passage, lead.end, next_chunk)
    extra = [Sentence(f.passage, f.start, f.end, f.text, 0.0) for f in continuation(lead.text, following)]
    if not extra:
        return chosen
    new = ([] if is_question(lead.text) else [lead]) + extra
    texts = {s.text for s in new}
    for sentence in chosen[1:]:
        if sentence.text not in texts and not is_question(sentence.text) and not repeats(sentence, new):
            new.append(sentence)
            texts.add(sentence.text)
    return new


def follow_list(chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk) -> list[Sentence]:
    """For a question that asks for several things (哪些, 为什么): a quoted sentence that a list
    follows at once ("还存在一些问题和差距。一是……；二是……") announces the answer without
    saying so; its items are quoted after it (the first such sentence only)."""
    quoted = {s.text for s in chosen}
    for at, sentence in enumerate(chosen):
        if LIST_MARK.match(sentence.text):
            continue  # an item itself, not a lead
        following = following_sentences(passages, sentence.passage, sentence.end, next_chunk, limit=WINDOW)
        if not following or not is_first_item(following[0].text) or following[0].text in quoted:
            continue
        items = [
            Sentence(f.passage, f.start, f.end, f.text, 0.0)
            for f in continuation(sentence.text, following)
            if f.text not in quoted
        ]
        if items:
            return chosen[: at + 1] + items + [s for s in chosen[at + 1 :] if not repeats(s, items)]
    return chosen
