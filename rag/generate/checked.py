"""Stream + guard: the model's text cut into sentences as they finish, each checked before it shows.

A sentence nothing backs is never displayed; the answer rests on one passage (the one its first
verified sentence comes from), so a later sentence from a near-topic passage the model wandered
into is set aside unless the home passage backs it too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from rag.generate.guard import Claim, Verdict, is_refusal, judge, split_claims, support

_OPEN_MARKER = re.compile(r"\s*[\[【][\d\s,，、]*$")


def take_sentence(buffer: str) -> tuple[str, str] | None:
    """Split off the first finished sentence, with the [n] markers after it, once the next has begun."""
    claims = split_claims(buffer)
    if len(claims) < 2:
        return None  # the sentence may not be finished, or its markers may be on the way
    position = 0
    for char in claims[0].text:  # where the first claim ends in the raw buffer
        position = buffer.index(char, position) + 1
    if _OPEN_MARKER.match(buffer[position:]):
        return None  # "[1" — a marker still arriving
    return buffer[:position], buffer[position:]


@dataclass
class CheckedAnswer:
    """What a streaming run has accepted, dropped and set aside so far, and how it numbers citations."""

    texts: Sequence[str]  # the context passages' texts, by index
    question: str  # the standalone question the guard reads topic words from
    minimum: float  # settings.min_support
    started: float = field(default_factory=time.perf_counter)
    verdicts: list[Verdict] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    numbers: dict[int, int] = field(default_factory=dict)  # context passage index → number shown
    shown: list[str] = field(default_factory=list)  # written sentences that passed, as displayed
    quoted: list[str] = field(default_factory=list)  # the passage's own sentences added after them
    first_text_ms: float | None = None
    model_refused: bool = False

    @property
    def home(self) -> int | None:
        """The passage the answer rests on: where its first verified sentence came from."""
        return self.verdicts[0].passage if self.verdicts else None

    def settle(self, sentence: str) -> Iterator[str]:
        """Each claim of a finished sentence: shown when backed, otherwise dropped or set aside."""
        for claim in split_claims(sentence):
            if is_refusal(claim.bare) and not self.verdicts:
                self.model_refused = True
                continue
            verdict = judge(claim, self.texts, self.minimum, self.question)
            if not verdict.supported:
                self.dropped.append(claim.bare)
                continue
            home = self.home
            if home is not None and verdict.passage != home:
                if (backing := support(claim.bare, self.texts[home], self.question)) < self.minimum:
                    self.set_aside.append(claim.bare)
                    continue
                verdict = replace(verdict, passage=home, support=backing, repointed=True)
            yield self.show(verdict)

    def add_quote(self, text: str) -> str:
        """A sentence of the home passage itself, added verbatim after the written answer."""
        assert self.home is not None
        return self.show(Verdict(Claim(text, ()), self.home, 1.0), quote=True)

    def show(self, verdict: Verdict, *, quote: bool = False) -> str:
        assert verdict.passage is not None
        self.verdicts.append(verdict)
        self.numbers.setdefault(verdict.passage, len(self.numbers) + 1)
        if self.first_text_ms is None:
            self.first_text_ms = round((time.perf_counter() - self.started) * 1000, 1)
        lines = self.quoted if quote else self.shown
        line = verdict.claim.bare.rstrip() + f"[{self.numbers[verdict.passage]}]"
        lines.append(line)
        return ("\n" if len(lines) > 1 else "") + line
