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

Nor for a sentence that names what the question asks about where the passage speaks of something
else: the bigrams of "扑救锂电池储能电站起火，必须坚持……" are mostly in a passage on forest fires,
but the passage never says it of 锂电池储能电站 (see foreign_terms).

Words are not enough for a sentence that says what a named term is or requires
("“四个一律”要求……"): the passage must say it of the term — after the term, in its
sentence or the next — not merely hold the same words around it (issue 12).

Backing is not enough: a speech is data, never instructions. A sentence that reads
as an instruction to the reader or the model (ignore previous instructions, role-play,
a web address, a request for a password or key) is dropped even when it is a verbatim
quote of a passage, because text slipped into an uploaded speech is quoted verbatim
too (ingest.suspicious holds the detector; ingest reports such passages per file).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.index.text import split_sentences
from ingest.index.tokenize import tokenize
from ingest.suspicious import is_suspicious
from rag.answer.answerability import content_tokens, missing_terms

MARKER = re.compile(r"\s*[\[【]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")
_LEADING_MARKERS = re.compile(rf"^(?:{MARKER.pattern})+")
_WORD_CHARS = re.compile(r"[\w\u4e00-\u9fff]")
_NON_WORD = re.compile(r"[^\w\u4e00-\u9fff]+")
TOPIC_MIN_CHARS = 4  # a shorter opening shared with the question is a coincidence, not a restatement
# A sentence naming this many words of the question that its passage lacks is about something else
# (see foreign_terms); one such word is most often the question's own framing restated ("去年",
# "严重", the city of the speech's title).
PINNED_TERMS = 2
# Words a model uses to frame a quote ("讲话指出…"), not claims about the speeches' content.
FRAMING = re.compile(
    r"^(根据|按照|据)?(讲话|片段|材料|文中|原文)[^,，:：]{0,8}?(指出|提出|强调|要求|表示|认为|提到|说)[,，:：]?"
)
# "“四个一律”要求……", "“两查”就是……", "“三个必须”包括……": a sentence that says what a named
# term is, requires or holds. Its rest must follow the term in the passage (in the term's sentence
# or the one after it, where a heading's term is defined), not only occur somewhere near it: "要对
# 重大隐患盯死看牢,严格执行“四个一律”" does not say that 四个一律 requires watching hazards.
_ATTRIBUTES = re.compile(
    r"^[^“\"「『。]{0,8}[“\"「『]([^”\"」』]{2,12})[”\"」』]\s*"
    r"(?:的?(?:内容|含义|意思|具体内容))?\s*(?:主要|具体|就)?"
    r"(?:要求|是指|指的是|指|就是|是|包括|即|意味着|分别是|内容是)[:：,，]?(.+)$"
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
    Only an opening counts, so a premise the model repeats later is still checked. (A topic the
    passage never names is a claim all the same: see foreign_terms.)"""
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


def foreign_terms(sentence: str, passage: str, question: str) -> list[str]:
    """The question's naming words (not its asking words) that the sentence uses and the passage
    lacks. Such a sentence says the passage's content of something the passage never names: the
    question's subject pinned on a measure ("扑救锂电池储能电站起火，必须坚持……" from a passage on
    forest fires), or its attribute on a figure ("护林员每个月的补助标准是1200元")."""
    said = "".join(sentence.split()).lower()
    # One word per concept: search-mode pieces (锂电, 电池) count with their word (锂电池).
    return missing_terms([t for t in naming_words(question) if t in said], passage.lower())


@functools.lru_cache(maxsize=256)
def naming_words(question: str) -> tuple[str, ...]:
    """The question's words that name something (see content_tokens), lower-cased; the guard asks
    for them once per sentence and passage of the same question."""
    return tuple(dict.fromkeys(t.lower() for t in content_tokens(tokenize(question))))


def support(sentence: str, passage: str, question: str = "") -> float:
    """Share of the sentence's character bigrams found in the passage (framing words and an
    opening that restates the question left out); none when it names PINNED_TERMS words of the
    question that the passage lacks (see foreign_terms)."""
    claim = FRAMING.sub("", sentence)
    wanted = bigrams(without_topic(claim, question))
    if not wanted or len(foreign_terms(claim, passage, question)) >= PINNED_TERMS:
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


def attribution(sentence: str) -> tuple[str, str] | None:
    """(term, what the sentence attributes to it) for "“X”要求/是/包括 Y", else None."""
    match = _ATTRIBUTES.match(FRAMING.sub("", sentence).strip())
    if not match or not content_chars(match.group(2)):
        return None
    return match.group(1), match.group(2)


def after_term(term: str, passage: str) -> str:
    """What a passage says after naming the term: the rest of each sentence that names it, and the
    sentence after (a heading names a term, the next sentence defines it)."""
    spans = [passage[s.start : s.end] for s in split_sentences(passage)]
    pieces = []
    for at, sentence in enumerate(spans):
        if (where := sentence.find(term)) >= 0:
            pieces.append(sentence[where + len(term) :])
            pieces += spans[at + 1 : at + 2]
    return "\n".join(pieces)


def ties(attributed: tuple[str, str] | None, passage: str, min_support: float) -> bool:
    """Does the passage tie what a sentence attributes to a term (see attribution) to that term?
    True for a sentence that attributes nothing."""
    if attributed is None:
        return True
    term, rest = attributed
    wanted = bigrams(rest)
    if not wanted:
        return True
    return len(wanted & bigrams(after_term(term, passage))) / len(wanted) >= min_support


def judge(claim: Claim, passages: Sequence[str], min_support: float, question: str = "") -> Verdict:
    """Which passage backs this sentence: a cited one if it can, else the best other, else none.

    A sentence that looks like an injected instruction (see ingest.suspicious) is backed by none;
    one that says what a term is or requires is backed only where the passage says it of the term.
    """
    bad = tuple(n for n in claim.cited if not 1 <= n <= len(passages))
    if (flag := is_suspicious(claim.bare)) is not None:
        return Verdict(claim, None, 0.0, bad_numbers=bad, flagged=flag)
    scores = [support(claim.bare, p, question) for p in passages]
    backing = [i for i, score in enumerate(scores) if score >= min_support]
    attributed = attribution(claim.bare)
    tied = [i for i in backing if ties(attributed, passages[i], min_support)]
    cited = [n - 1 for n in claim.cited if 1 <= n <= len(passages)]
    if cited_tied := [i for i in cited if i in tied]:
        best_cited = max(cited_tied, key=lambda i: scores[i])
        return Verdict(claim, best_cited, scores[best_cited], bad_numbers=bad)
    if tied:
        best = max(tied, key=lambda i: scores[i])
        return Verdict(claim, best, scores[best], repointed=True, bad_numbers=bad)
    flag = "attribution" if backing else None  # the words are there, but not said of the term
    return Verdict(claim, None, max(scores, default=0.0), bad_numbers=bad, flagged=flag)


def best_quote(claim: str, passage: str) -> str:
    """The passage sentence that shares most with the claim: the verbatim span a citation shows.
    Sentences that look like injected instructions are never the one shown."""
    wanted = bigrams(claim)
    spans = [passage[s.start : s.end].strip() for s in split_sentences(passage)]
    spans = [s for s in spans if s] or [passage]
    spans = [s for s in spans if is_suspicious(s) is None] or [""]
    return max(spans, key=lambda s: len(wanted & bigrams(s)) / (1 + 0.002 * len(s)))
