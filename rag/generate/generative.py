"""Generated answers: a chat model writes from numbered passages; the guard keeps it honest.

The steps, in order:
  condense   a follow-up plus the history → one standalone question (model call)
  (retrieve  by the caller, with the standalone question)
  gate       the extractive composer decides whether the speeches answer at all; if
             not, the answer is a refusal and the model is never asked
  context    the passages trimmed to the sentences that matter, within a character
             budget (≤ 1 token per Chinese character for Qwen, so it bounds tokens too)
  generate   the model streams an answer with [n] markers
  guard      each finished sentence is checked against the passage it cites before it
             is shown; a sentence nothing backs is never displayed
  focus      the answer rests on one passage, the one its first verified sentence comes
             from; a later sentence from another passage (a near-topic speech the model
             wandered into) is set aside, not shown
  complete   the sentences the extractive answer chose from that passage and the model
             left out (a small model shortens lists) are added verbatim, cited
  fall back  nothing passed, or the model refused what the gate found: the extractive
             answer is shown instead
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.answer.extractive import AnswerComposer, Sentence
from rag.config import Settings
from rag.conversation import History, retrieval_query
from rag.generate.guard import (
    Claim,
    Verdict,
    best_quote,
    content_chars,
    is_refusal,
    judge,
    split_claims,
    support,
)
from rag.types import Answer, Citation, Generation, Passage

SYSTEM_PROMPT = (
    "你是安全生产讲话问答助手。只能根据用户给出的讲话片段回答,不要使用片段以外的任何知识,"
    "不要补充片段里没有的内容。尽量直接引用片段中的原句,保留原文的关键词语和数字。"
    "每句话末尾用方括号标明依据的片段编号,例如[1]。"
    "如果片段不能回答问题,只回答:现有讲话中没有找到能回答这个问题的内容。"
    "回答简洁,不超过5句话。"
)
ANSWER_FORMAT = "请只根据上面的片段作答,每句话末尾标注片段编号,例如:……[1]。"
CONDENSE_PROMPT = (
    "根据对话历史,把用户的追问改写成一个意思完整、可以单独理解的问题。只输出改写后的问题,不要回答它。"
)
GAP = "……"
DROPPED_NOTE = "(已略去 {n} 句在讲话中找不到依据的生成内容。)"
FALLBACK_NOTE = "(生成的回答没有通过原文核对,以下是讲话原文摘录。)"
MODEL_ERROR_NOTE = "(语言模型暂时不可用,以下是讲话原文摘录。)"
CUT_SHORT_NOTE = "(语言模型中途出错,回答可能不完整。)"
QUOTES_HEADER = "讲话原文:"
_OPEN_MARKER = re.compile(r"\s*[\[【][\d\s,，、]*$")
HISTORY_TURNS = 3
HISTORY_ANSWER_CHARS = 200
COVERED = 0.8  # a chosen sentence whose bigrams the answer already holds to this share is in it


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


def prompt_messages(question: str, context: Context) -> list[SystemMessage | HumanMessage]:
    return [
        SystemMessage(SYSTEM_PROMPT),
        HumanMessage(f"讲话片段:\n{context.render()}\n\n问题:{question}\n\n{ANSWER_FORMAT}"),
    ]


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


class GenerativeAnswerer:
    """question + passages → a written answer whose every sentence a passage backs."""

    def __init__(self, model: BaseChatModel, settings: Settings, model_name: str) -> None:
        self.model = model
        self.settings = settings
        self.model_name = model_name

    def condense(self, question: str, history: History) -> str:
        """A standalone question from a follow-up and the turns before it."""
        if not history:
            return question
        turns = [f"用户:{q}\n助手:{a[:HISTORY_ANSWER_CHARS]}" for q, a in list(history)[-HISTORY_TURNS:]]
        message = HumanMessage("对话历史:\n" + "\n".join(turns) + f"\n\n追问:{question}\n\n改写后的问题:")
        try:
            rewritten = self.model.invoke([SystemMessage(CONDENSE_PROMPT), message], max_tokens=80).text
        except Exception:  # a flaky endpoint must not cost the user the answer
            return retrieval_query(question, history)
        rewritten = rewritten.strip().splitlines()[0].strip(" “”\"'") if rewritten.strip() else ""
        if not content_chars(rewritten) or len(rewritten) > 4 * len(question) + 100:
            return retrieval_query(question, history)
        return rewritten

    def stream(
        self,
        question: str,
        standalone: str,
        passages: Sequence[Passage],
        composer: AnswerComposer,
        extractive: Answer,
    ) -> Iterator[str | Answer]:
        """Verified sentences as they finish, then the Answer."""
        started = time.perf_counter()
        scored, leads = composer.sentence_scores(standalone, standalone, passages)
        must = _chosen(extractive, passages, scored) + leads
        context = build_context(passages, scored, must, self.settings.llm_context_chars)
        texts = [p.text for p in context.passages]
        verdicts: list[Verdict] = []
        dropped: list[str] = []
        set_aside: list[str] = []
        numbers: dict[int, int] = {}  # passage index in context → citation number shown
        first_token = first_text = None
        model_refused = False
        buffer = ""
        minimum = self.settings.min_support
        shown: list[str] = []  # the written sentences that passed, as displayed
        quoted: list[str] = []  # the passage's own sentences added after them

        def show(verdict: Verdict, lines: list[str]) -> str:
            nonlocal first_text
            assert verdict.passage is not None
            verdicts.append(verdict)
            numbers.setdefault(verdict.passage, len(numbers) + 1)
            if first_text is None:
                first_text = _ms(started)
            line = verdict.claim.bare.rstrip() + f"[{numbers[verdict.passage]}]"
            lines.append(line)
            return ("\n" if len(lines) > 1 else "") + line

        def settle(sentence: str) -> Iterator[str]:
            nonlocal model_refused
            for claim in split_claims(sentence):
                if is_refusal(claim.bare) and not verdicts:
                    model_refused = True
                    continue
                verdict = judge(claim, texts, minimum, standalone)
                if not verdict.supported:
                    dropped.append(claim.bare)
                    continue
                if verdicts and verdict.passage != (home := verdicts[0].passage):
                    assert home is not None
                    if (backing := support(claim.bare, texts[home], standalone)) < minimum:
                        set_aside.append(claim.bare)
                        continue
                    verdict = replace(verdict, passage=home, support=backing, repointed=True)
                yield show(verdict, shown)

        error = None
        try:
            for chunk in self.model.stream(prompt_messages(standalone, context)):
                if first_token is None:
                    first_token = _ms(started)
                buffer += chunk.text
                while (split := take_sentence(buffer)) is not None:
                    sentence, buffer = split
                    yield from settle(sentence)
        except Exception as failure:  # endpoint down, timeout, out of memory: the quotes still answer
            error = f"{type(failure).__name__}: {failure}"[:300]
            buffer = ""
        yield from settle(buffer)
        if verdicts:  # the passage's own words for what the written answer left out
            home = verdicts[0].passage
            assert home is not None
            missing = left_out(must, passages, context.passages[home], "".join(shown))
            if missing:
                yield f"\n\n{QUOTES_HEADER}\n"
            for sentence in missing:
                yield show(Verdict(Claim(sentence.text, ()), home, 1.0), quoted)

        generation = Generation(
            model=self.model_name,
            standalone_question=standalone,
            context_chars=len(context.render()),
            first_token_ms=first_token,
            first_text_ms=first_text,
            sentences=len(shown) + len(dropped) + len(set_aside),
            dropped=tuple(dropped),
            set_aside=tuple(set_aside),
            completed=len(quoted),
            repointed=sum(v.repointed for v in verdicts),
            bad_citations=sum(len(v.bad_numbers) for v in verdicts),
            model_refused=model_refused,
            error=error,
        )
        if not verdicts:
            fallback = [MODEL_ERROR_NOTE if error else FALLBACK_NOTE, extractive.text]
            for number, line in enumerate(fallback):
                yield ("\n" if number else "") + line
            yield replace(
                extractive,
                question=question,
                text="\n".join(fallback),
                generation=_timed(generation, started, fell_back=True),
            )
            return
        text = "\n".join(shown) + f"\n\n{QUOTES_HEADER}\n" * bool(quoted) + "\n".join(quoted)
        for note in [DROPPED_NOTE.format(n=len(dropped))] * bool(dropped) + [CUT_SHORT_NOTE] * bool(error):
            yield "\n\n" + note
            text += "\n\n" + note
        if extractive.note:  # e.g. a term the speeches mention but never spell out
            yield "\n\n" + extractive.note
            text += "\n\n" + extractive.note
        yield Answer(
            question=question,
            text=text,
            refused=False,
            citations=_citations(verdicts, numbers, context.passages),
            note=extractive.note,
            mode="generated",
            generation=_timed(generation, started),
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
    return [s for s in mine if support(s.text, answer) < COVERED]


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
