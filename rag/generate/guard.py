"""The faithfulness guard: every generated sentence must be backed by the passage it cites.

A small model fills gaps from memory (the four items of “四个一律”, which the
speeches never list) and misnumbers its citations. So each sentence it writes is
checked against the retrieved passages by character-bigram containment, the
measure that fits Chinese best without a tokenizer: the share of the sentence's
bigrams that occur in the passage. A faithful paraphrase of a speech reuses its
words (≥ 0.6 on the dev questions' reference answers); a sentence from memory
does not (`python -m bench.guard_calibration` prints both distributions).

A sentence whose cited passage does not back it is re-pointed to a passage that
does, or dropped. Citation numbers that point to no passage are removed.

Backing is not enough: a speech is data, never instructions. A sentence that reads
as an instruction to the reader or the model (ignore previous instructions, role-play,
a web address, a request for a password or key) is dropped even when it is a verbatim
quote of a passage, because text slipped into an uploaded speech is quoted verbatim
too (ingest.suspicious holds the detector; ingest reports such passages per file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.index.text import split_sentences
from ingest.suspicious import is_suspicious

MARKER = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")
_LEADING_MARKERS = re.compile(rf"^(?:{MARKER.pattern})+")
_WORD_CHARS = re.compile(r"[\w\u4e00-\u9fff]")
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
TOPIC_MIN_CHARS = 4  # a shorter opening shared with the question is a coincidence, not a restatement
# Words a model uses to frame a quote ("讲话指出…"), not claims about the speeches' content.
FRAMING = re.compile(
    r"^(根据|按照|据)?(讲话|片段|材料|文中|原文)[^,，:：]{0,8}?(指出|提出|强调|要求|表示|认为|提到|说)[,，:：]?"
)
REFUSAL_MARKS = ("没有找到", "未找到", "无法回答", "不能回答", "没有提到", "没有涉及", "未提及", "未涉及")


@dataclass(frozen=True)
class Claim:
    """One sentence of a generated answer, with the passage numbers it cites (1-based, as written)."""

    text: str
    cited: tuple[int, ...]

    @property
    def bare(self) -> str:
        return MARKER.sub("", self.text).strip()


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    passage: int | None  # 0-based index of the passage that backs it; None: unsupported
    support: float
    repointed: bool = False  # backed, but not by any passage it cited
    bad_numbers: tuple[int, ...] = ()  # cited numbers that point to no passage
    flagged: str | None = None  # why it is refused whatever backs it: "url", "credentials", ...

    @property
    def supported(self) -> bool:
        return self.passage is not None


def content_chars(text: str) -> str:
    """The letters, digits and Chinese characters of ``text``: what carries meaning."""
    return "".join(_WORD_CHARS.findall(text.lower()))


def bigrams(text: str) -> set[str]:
    """Character bigrams within runs of letters and characters: the model's own joins of listed
    items ("铁的手腕、铁的规章" → no "腕铁") are punctuation, not words to look for."""
    return {run[i : i + 2] for run in _NON_WORD.split(text.lower()) for i in range(len(run) - 1)}


def without_topic(sentence: str, question: str) -> str:
    """The sentence less an opening that restates the question ("抓安全的方法有……" for
    "……来概括抓安全的方法?"): the topic the user gave, not a claim about the speeches.
    Only an opening counts, so a premise the model repeats later is still checked."""
    asked = content_chars(question)
    if not asked:
        return sentence
    cut = 0
    for end in range(1, len(sentence) + 1):
        prefix = content_chars(sentence[:end])
        if prefix and prefix not in asked:
            break
        cut = end
    return sentence[cut:] if len(content_chars(sentence[:cut])) >= TOPIC_MIN_CHARS else sentence


def support(sentence: str, passage: str, question: str = "") -> float:
    """Share of the sentence's character bigrams found in the passage (framing words and an
    opening that restates the question left out)."""
    wanted = bigrams(without_topic(FRAMING.sub("", sentence), question))
    if not wanted:
        return 0.0
    return len(wanted & bigrams(passage)) / len(wanted)


def cited_numbers(text: str) -> tuple[int, ...]:
    numbers: list[int] = []
    for match in MARKER.finditer(text):
        numbers += [int(n) for n in re.split(r"[,，、\s]+", match.group(1)) if n]
    return tuple(dict.fromkeys(numbers))


def split_claims(text: str) -> list[Claim]:
    """Sentences of an answer, each keeping the [n] markers written at (or just after) its end."""
    claims = []
    for span in split_sentences(text):
        piece = text[span.start : span.end].strip()
        leading = _LEADING_MARKERS.match(piece)
        # "……要求。[1]": the markers belong to the sentence before; "\n[2]出台了……": a marker
        # that opens a line belongs to that line.
        if leading and claims and not _opens_line(text, span.start):
            last = claims.pop().text + leading.group(0).strip()
            claims.append(Claim(last, cited_numbers(last)))
            piece = piece[leading.end() :].strip()
        if content_chars(MARKER.sub("", piece)):
            claims.append(Claim(piece, cited_numbers(piece)))
    return claims


def _opens_line(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    rest = text[start:]
    return not before.strip() or before.endswith("\n") or "\n" in rest[: len(rest) - len(rest.lstrip())]


def is_refusal(text: str) -> bool:
    return any(mark in text for mark in REFUSAL_MARKS)


def judge(claim: Claim, passages: Sequence[str], min_support: float, question: str = "") -> Verdict:
    """Which passage backs this sentence: a cited one if it can, else the best other, else none.

    A sentence that looks like an injected instruction (see ingest.suspicious) is backed by none.
    """
    bad = tuple(n for n in claim.cited if not 1 <= n <= len(passages))
    if (flag := is_suspicious(claim.bare)) is not None:
        return Verdict(claim, None, 0.0, bad_numbers=bad, flagged=flag)
    scores = [support(claim.bare, p, question) for p in passages]
    cited = [n - 1 for n in claim.cited if 1 <= n <= len(passages)]
    if cited:
        best_cited = max(cited, key=lambda i: scores[i])
        if scores[best_cited] >= min_support:
            return Verdict(claim, best_cited, scores[best_cited], bad_numbers=bad)
    if scores:
        best = max(range(len(scores)), key=lambda i: scores[i])
        if scores[best] >= min_support:
            return Verdict(claim, best, scores[best], repointed=True, bad_numbers=bad)
    return Verdict(claim, None, max(scores, default=0.0), bad_numbers=bad)


def best_quote(claim: str, passage: str) -> str:
    """The passage sentence that shares most with the claim: the verbatim span a citation shows.
    Sentences that look like injected instructions are never the one shown."""
    wanted = bigrams(claim)
    spans = [passage[s.start : s.end].strip() for s in split_sentences(passage)]
    spans = [s for s in spans if s] or [passage]
    spans = [s for s in spans if is_suspicious(s) is None] or [""]
    return max(spans, key=lambda s: len(wanted & bigrams(s)) / (1 + 0.002 * len(s)))
