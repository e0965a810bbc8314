"""The passages as the model sees them: the sentences that matter, within a character budget.

The budget is in characters because Qwen's tokenizer gives at most about one token per Chinese
character, so it bounds the prompt in tokens too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.extractive import Sentence
from rag.types import Passage

GAP = "……"


@dataclass(frozen=True)
class Context:
    """The passages as the model sees them: numbered 1..n, trimmed, with the text rendered."""

    passages: tuple[Passage, ...]
    excerpts: tuple[str, ...]

    def render(self) -> str:
        return "\n\n".join(
            f"[{n}]《{p.speech_title}》\n{excerpt}"
            for n, (p, excerpt) in enumerate(zip(self.passages, self.excerpts, strict=True), start=1)
        )


def build_context(
    passages: Sequence[Passage], scored: Sequence[Sentence], must: Sequence[Sentence], budget: int
) -> Context:
    """The sentences that matter, within ``budget`` characters of rendered context.

    The sentences the extractive answer chose come first (they are what the gate
    found), then the other sentences of their passages, then the rest, each group by
    score: a small model given six half-relevant passages wanders, given the right one
    with its context it stays. Each passage shows what it kept in its own order, with
    …… for what was left out. Passages left with nothing are not shown.
    """
    home = {s.passage for s in must}  # the passages the answer was found in: their context first
    order = list(dict.fromkeys([*must, *sorted(scored, key=lambda s: (s.passage not in home, -s.score))]))
    headers = {i: len(f"[{i + 1}]《{p.speech_title}》\n\n\n") for i, p in enumerate(passages)}
    kept: dict[int, list[Sentence]] = {}
    used = 0
    for sentence in order:
        cost = len(sentence.text) + len(GAP) + (0 if sentence.passage in kept else headers[sentence.passage])
        if used + cost > budget:
            continue
        kept.setdefault(sentence.passage, []).append(sentence)
        used += cost
    shown = sorted(kept)
    excerpts = []
    for index in shown:
        parts, previous_end = [], None
        text = passages[index].text
        for sentence in sorted(kept[index], key=lambda s: s.start):
            gap = text[previous_end : sentence.start] if previous_end is not None else text[: sentence.start]
            if gap.strip():
                parts.append(GAP)
            parts.append(sentence.text)
            previous_end = sentence.end
        if text[previous_end or 0 :].strip():
            parts.append(GAP)
        excerpts.append("".join(parts))
    return Context(tuple(passages[i] for i in shown), tuple(excerpts))
