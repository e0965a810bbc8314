"""Generated answers: a chat model writes from numbered passages; the guard keeps it honest.

The steps, in order, one module each:
  condense   a follow-up plus the history → one standalone question (condense.py)
  (retrieve  by the caller, with the standalone question)
  gate       the extractive composer decides whether the speeches answer at all; if
             not, the answer is a refusal and the model is never asked (rag.api)
  context    the passages trimmed to the sentences that matter, within a character
             budget (context.py), fenced as quoted material (prompts.py)
  stream     the model streams an answer with [n] markers; each finished sentence is
  + guard    checked against the passage it cites before it is shown (checked.py, guard.py)
  complete   the sentences the extractive answer chose from that passage and the model
             left out (a small model shortens lists) are added verbatim, cited (here)
  fall back  nothing passed, or the model refused what the gate found: the extractive
             answer is shown instead (here)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from langchain_core.language_models import BaseChatModel

from ingest.suspicious import is_suspicious
from rag.answer.extractive import AnswerComposer, Sentence, mentioned_only
from rag.config import Settings
from rag.conversation import History
from rag.generate.checked import CheckedAnswer, take_sentence
from rag.generate.condense import condense
from rag.generate.context import GAP, Context, build_context
from rag.generate.guard import Verdict, best_quote, support
from rag.generate.prompts import (
    CUT_SHORT_NOTE,
    DROPPED_NOTE,
    FALLBACK_NOTE,
    MODEL_ERROR_NOTE,
    QUOTES_HEADER,
    prompt_messages,
)
from rag.types import Answer, Citation, Generation, Passage

__all__ = [
    "CUT_SHORT_NOTE",
    "DROPPED_NOTE",
    "FALLBACK_NOTE",
    "MODEL_ERROR_NOTE",
    "QUOTES_HEADER",
    "GenerativeAnswerer",
    "build_context",
    "left_out",
    "take_sentence",
]
COVERED = 0.8  # a chosen sentence whose bigrams the answer already holds to this share is in it


class GenerativeAnswerer:
    """question + passages → a written answer whose every sentence a passage backs."""

    def __init__(self, model: BaseChatModel, settings: Settings, model_name: str) -> None:
        self.model = model
        self.settings = settings
        self.model_name = model_name

    def condense(self, question: str, history: History) -> str:
        """A standalone question from a follow-up and the turns before it."""
        return condense(self.model, question, history)

    def stream(
        self,
        question: str,
        standalone: str,
        passages: Sequence[Passage],
        composer: AnswerComposer,
        extractive: Answer,
    ) -> Iterator[str | Answer]:
        """Verified sentences as they finish, then the Answer."""
        scored, leads = composer.sentence_scores(standalone, standalone, passages)
        must = _chosen(extractive, passages, scored) + leads
        context = build_context(passages, scored, must, self.settings.llm_context_chars)
        run = CheckedAnswer([p.text for p in context.passages], standalone, self.settings.min_support)
        first_token: float | None = None
        error = None
        buffer = ""
        try:
            messages = prompt_messages(standalone, context.render(), mentioned_only(extractive.note))
            for chunk in self.model.stream(messages):
                if first_token is None:
                    first_token = _ms(run.started)
                buffer += chunk.text
                while (split := take_sentence(buffer)) is not None:
                    sentence, buffer = split
                    yield from run.settle(sentence)
        except Exception as failure:  # endpoint down, timeout, out of memory: the quotes still answer
            error = f"{type(failure).__name__}: {failure}"[:300]
            buffer = ""
        yield from run.settle(buffer)
        yield from _complete(run, must, passages, context)
        generation = Generation(
            model=self.model_name,
            standalone_question=standalone,
            context_chars=len(context.render()),
            first_token_ms=first_token,
            first_text_ms=run.first_text_ms,
            sentences=len(run.shown) + len(run.dropped) + len(run.set_aside),
            dropped=tuple(run.dropped),
            set_aside=tuple(run.set_aside),
            completed=len(run.quoted),
            repointed=sum(v.repointed for v in run.verdicts),
            bad_citations=sum(len(v.bad_numbers) for v in run.verdicts),
            model_refused=run.model_refused,
            error=error,
        )
        if run.verdicts:
            yield from _written(run, question, extractive, context, generation, error)
        else:
            yield from _fall_back(question, extractive, generation, error, run.started)


def _complete(
    run: CheckedAnswer, must: Sequence[Sentence], passages: Sequence[Passage], context: Context
) -> Iterator[str]:
    """The home passage's own words for what the written answer left out."""
    if run.home is None:
        return
    missing = left_out(must, passages, context.passages[run.home], "".join(run.shown))
    if missing:
        yield f"\n\n{QUOTES_HEADER}\n"
    for sentence in missing:
        yield run.add_quote(sentence.text)


def _written(
    run: CheckedAnswer,
    question: str,
    extractive: Answer,
    context: Context,
    generation: Generation,
    error: str | None,
) -> Iterator[str | Answer]:
    """The notes after a written answer, then the Answer itself."""
    text = "\n".join(run.shown) + f"\n\n{QUOTES_HEADER}\n" * bool(run.quoted) + "\n".join(run.quoted)
    notes = [DROPPED_NOTE.format(n=len(run.dropped))] * bool(run.dropped) + [CUT_SHORT_NOTE] * bool(error)
    if extractive.note:  # e.g. a term the speeches mention but never spell out
        notes.append(extractive.note)
    for note in notes:
        yield "\n\n" + note
        text += "\n\n" + note
    yield Answer(
        question=question,
        text=text,
        refused=False,
        citations=_citations(run.verdicts, run.numbers, context.passages),
        note=extractive.note,
        mode="generated",
        generation=_timed(generation, run.started),
    )


def _fall_back(
    question: str, extractive: Answer, generation: Generation, error: str | None, started: float
) -> Iterator[str | Answer]:
    """Nothing written passed (or the model failed): the extractive quotes, with a note saying why."""
    fallback = [MODEL_ERROR_NOTE if error else FALLBACK_NOTE, extractive.text]
    for number, line in enumerate(fallback):
        yield ("\n" if number else "") + line
    yield replace(
        extractive,
        question=question,
        text="\n".join(fallback),
        generation=_timed(generation, started, fell_back=True),
    )


def left_out(
    chosen: Sequence[Sentence], passages: Sequence[Passage], home: Passage, answer: str
) -> list[Sentence]:
    """The sentences the extractive answer chose from the answering passage that the written
    answer does not already hold, in reading order."""
    mine = sorted(
        (s for s in dict.fromkeys(chosen) if passages[s.passage].chunk_id == home.chunk_id),
        key=lambda s: s.start,
    )
    # A passage's own sentence is added without the model, so the guard's injection check goes here.
    return [s for s in mine if support(s.text, answer) < COVERED and not is_suspicious(s.text)]


def _chosen(extractive: Answer, passages: Sequence[Passage], scored: Sequence[Sentence]) -> list[Sentence]:
    """The scored sentences the extractive answer quoted."""
    quoted = {c.chunk_id: c.quote for c in extractive.citations}
    return [s for s in scored if (quote := quoted.get(passages[s.passage].chunk_id)) and s.text in quote]


def _citations(
    verdicts: Sequence[Verdict], numbers: dict[int, int], passages: Sequence[Passage]
) -> tuple[Citation, ...]:
    citations = []
    for index, number in sorted(numbers.items(), key=lambda item: item[1]):
        passage = passages[index]
        claims = [v.claim.bare for v in verdicts if v.passage == index]
        quotes = list(dict.fromkeys(best_quote(c, passage.text) for c in claims))
        citations.append(Citation.of(passage, number, GAP.join(quotes)))
    return tuple(citations)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _timed(generation: Generation, started: float, *, fell_back: bool = False) -> Generation:
    return replace(generation, total_ms=_ms(started), fell_back=fell_back)
