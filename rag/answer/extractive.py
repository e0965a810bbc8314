"""Extractive answers: the speeches' own sentences, each cited, or a plain refusal.

No language model is needed. The answer is built from whole sentences of the
retrieved passages, picked by how much of the question's key vocabulary they
carry (weighted by rarity, as BM25 does). Every claim is therefore a verbatim
span of a cited passage; only the connective words are ours.

When the evidence is weak, the answer says so and shows the closest passages
as 相关段落 without claiming they answer the question.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ingest.index.keywords import KeywordIndex
from ingest.index.store import ChunkStore
from ingest.index.text import LIST_MARK, split_sentences
from ingest.index.tokenize import find_slogans, tokenize
from rag.answer.answerability import (
    asks_value,
    missing_share,
    missing_terms,
    named_years,
    specific_weights,
    spells_out,
    states_value,
)
from rag.answer.continuation import (
    continuation,
    following_sentences,
    is_question,
    item_style,
    needs_continuation,
)
from rag.config import Settings
from rag.retrieve import char_ngrams
from rag.types import Answer, Citation, Passage

REFUSAL = "现有讲话中没有找到能回答这个问题的内容。"
RELATED_HEADER = "相关段落(供参考,并不直接回答这个问题):"
NO_INDEX = "索引里还没有讲话。请先导入讲话文件(python -m ingest 文件或文件夹)。"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LEADS_INTO_LIST = re.compile(r"[:：]$|以下|如下|(几|[两三四五六七八九十])(个|项|点|条|方面)")
_ASKS_CONTENT = re.compile(r"(是什么|指什么|是指|指的是|要求什么|包括|包含|有哪些|哪几|哪些|内容|分别)")
# After a term: "(…)", "即…", "就是…", "…的状况:一是…" — the speech spells it out.
_ASKS_ABOUT_TERM = r"[”\"」]?\s*(是什么|指什么|是指|指的是|要求什么|包括|包含|有哪些|的内容|具体)"
_DEFINITION_AFTER = (
    r"[”\"」]?([^。；;!！?？]{0,10}?[:：(（]"
    r"|[,，]?\s*(即|就是|是指|指的是|包括|主要是|分别是)"
    r"|[^。]{0,16}一是)"
)

MAX_SUPPORTING = 3
MAX_LIST_ITEMS = 6
LIST_WINDOW = 12  # sentences after a list's lead in which its items are looked for
FIRST_ITEM_WITHIN = 2  # ... and the first item must come this soon, or it is another list
DEFINITION_BONUS = 1.5
NEIGHBOUR_RATIO = 0.2
SHORT_ITEM = 20
SIBLING_SEARCH = 12
SIBLING_RATIO = 0.25
_QUOTED_PHRASE = re.compile(r"[“\"「『]([^“”\"「」『』]{2,40})[”\"」』]")
_CONTINUES = re.compile(r"^(但是|但|然而|所以|因此|因而|同时|并且|而且|特别是|尤其是|尤其|其中|这样|否则)")
_WANTS_LIST = re.compile(r"哪几|哪些|几项|几个|几点|几条|哪[两三四五六七八九十]|分别")
SUPPORT_RATIO = 0.55
# A passage lacking this many of the question's specific terms (and most of their weight) is about
# something else; one missing term is most often a paraphrase. Calibrated on eval/calibration.jsonl.
MIN_MISSING_TERMS = 2
# A supporting sentence from another passage than the lead's must score this share of the lead:
# other passages are most often other topics (citation precision). Calibrated on eval/calibration.jsonl.
OTHER_PASSAGE_RATIO = 0.6
OVERLAP_LIMIT = 0.6
PASSAGE_RANK_DECAY = 0.15


class SentenceEmbedder(Protocol):
    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage, scored for the question at hand."""

    passage: int
    start: int
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Evidence:
    """What the retrieved passages say about the question as a whole."""

    similarity: float  # best passage cosine similarity
    lexical: bool  # can words match at all (the question has Chinese words)?


def weighted_coverage(query_tokens: Sequence[str], found: set[str], idf: dict[str, float]) -> float:
    """Σ idf of the question's terms found / Σ idf of all its terms."""
    terms = list(dict.fromkeys(query_tokens))
    total = sum(idf.get(t, 0.0) for t in terms)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in terms if t in found) / total


def evidence_strength(query_tokens: Sequence[str], passages: Sequence[Passage], top: int = 3) -> Evidence:
    similarity = max((p.similarity for p in passages[:top]), default=0.0)
    # Words can only match when the question shares the speeches' language (Chinese).
    lexical = any(_CJK.search(t) for t in query_tokens)
    return Evidence(similarity=similarity, lexical=lexical)


def score_sentences(
    query_tokens: Sequence[str],
    passages: Sequence[Passage],
    idf: dict[str, float],
    asked_terms: Sequence[str] = (),
    occasions: dict[str, str] | None = None,
) -> list[Sentence]:
    """Share of the question's weighted vocabulary in each sentence, discounted by passage rank.

    Words that name the speech's occasion ("那次电视电话会议") pick the speech, not the
    sentence, so within a speech they are left out of the sentence's score. A sentence
    that spells out a term the question asks about counts more.
    """
    definitions = [re.compile(re.escape(t) + _DEFINITION_AFTER) for t in asked_terms]
    occasions = occasions or {}
    scored = []
    for rank, passage in enumerate(passages):
        decay = 1.0 / (1.0 + PASSAGE_RANK_DECAY * rank)
        context = set(tokenize(occasions.get(passage.speech_id, "")))
        content = [t for t in query_tokens if t not in context] or list(query_tokens)
        for span in split_sentences(passage.text):
            text = passage.text[span.start : span.end].strip()
            if len(text) < 4:
                continue
            lexical = weighted_coverage(content, set(tokenize(text)), idf)
            if any(d.search(text) for d in definitions):
                lexical *= DEFINITION_BONUS
            scored.append(Sentence(rank, span.start, span.end, text, lexical * decay))
    return scored


def asked_terms(question: str, known_terms: set[str]) -> list[str]:
    """Slogans whose content the question asks for ("“四个一律”要求什么?")."""
    if not _ASKS_CONTENT.search(question):
        return []
    # The substring test first: a regex per known term is ~0.4 s per question at 5,000 speeches.
    present = (t for t in known_terms if len(t) >= 3 and t in question)
    asked = find_slogans(question) | {
        t for t in present if re.search(re.escape(t) + _ASKS_ABOUT_TERM, question)
    }
    return sorted(asked, key=len, reverse=True)


def undefined_terms(
    terms: Sequence[str], passages: Sequence[Passage], speech_text: Callable[[str], str] | None = None
) -> list[str]:
    """Of the asked-about terms, those the passages mention but never spell out — and, given
    speech_text (speech id → the whole speech), that their speeches never spell out anywhere."""
    undefined = []
    for term in terms:
        mentioning = [p for p in passages if term in p.text]
        if not mentioning or spells_out(term, "\n".join(p.text for p in mentioning)):
            continue
        if speech_text is not None and any(
            spells_out(term, speech_text(speech)) for speech in dict.fromkeys(p.speech_id for p in mentioning)
        ):
            continue
        undefined.append(term)
    return undefined


# What a question asks for, and what a sentence must hold to answer it.
_ANSWER_TYPES = (
    (
        re.compile(r"哪一年|哪年|何年|哪一年开始|从什么时候开始|什么年份"),
        re.compile(r"(\d{2,4}|[〇零一二三四五六七八九]{2,4}|[xX×]+)\s*年"),
    ),
    (
        re.compile(r"多长时间|多久|几天|几个小时|多少小时|多少天|多少分钟|时限|期限"),
        re.compile(
            r"(\d+|[一二两三四五六七八九十半]+|[xX×]+)\s*(个)?(小时|分钟|天|周|工作日|日内|个月|年内|季度|学期)"
            r"|每个?(天|日|周|旬|月|季度?|半年|年|学期)"  # "多久一次" is answered by "每季度至少一次"
        ),
    ),
    (re.compile(r"多少年"), re.compile(r"(\d+|[一二两三四五六七八九十]+|[xX×]+)\s*年")),
    (
        re.compile(r"哪个文件|什么文件|哪部|哪项法规|哪个规定|什么规定|哪份文件|依据什么"),
        re.compile(r"《[^》]+》|[\dxX×]+号(文件|令|文)"),
    ),
)


def missing_answer_type(question: str, sentences: Sequence[Sentence]) -> bool:
    """The question asks for a year, a duration or a document, and no chosen sentence has one."""
    text = "".join(s.text for s in sentences)
    return any(asks.search(question) and not holds.search(text) for asks, holds in _ANSWER_TYPES)


def unmatched_quotes(question: str, passages: Sequence[Passage]) -> list[str]:
    """Phrases the question quotes that no retrieved passage contains, not even in part."""
    corpus = "".join("".join(p.text.split()) for p in passages)
    missing = []
    for phrase in find_slogans(question) | set(_QUOTED_PHRASE.findall(question)):
        parts = [p for p in re.split(r"[、,，;；\s]+", phrase) if p]
        if not any(part in corpus for part in parts):
            missing.append(phrase)
    return missing


class AnswerComposer:
    """question + passages → Answer (streamed as text pieces, then the Answer)."""

    def __init__(
        self, embedder: SentenceEmbedder, settings: Settings, keywords: KeywordIndex, store: ChunkStore
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self.keywords = keywords
        self.store = store

    def compose_stream(self, question: str, query: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """The answer's lines as text pieces, then the Answer itself."""
        yield from self.stream_lines(self.compose(question, query, passages))

    @staticmethod
    def stream_lines(answer: Answer) -> Iterator[str | Answer]:
        """An answer as its lines, then the Answer itself."""
        lines = answer.text.split("\n")
        for number, line in enumerate(lines):
            yield line + ("\n" if number < len(lines) - 1 else "")
        yield answer

    def compose(self, question: str, query: str, passages: list[Passage]) -> Answer:
        """passages → the sentences that answer the question, cited; or a refusal."""
        if not passages:
            return Answer(question=question, text=NO_INDEX, refused=True)
        query_tokens = tokenize(query)
        evidence = evidence_strength(query_tokens, passages)
        terms = asked_terms(question, self.keywords.terms())
        if not evidence.lexical and evidence.similarity < self.settings.min_similarity_crosslingual:
            return refusal(question, passages)
        sentences, part_leads = self.sentence_scores(question, query, passages)
        chosen = select_sentences(sentences, passages, wants_list=bool(_WANTS_LIST.search(question)))
        chosen += [s for s in part_leads if s not in chosen and not _repeats(s, chosen)]
        if self._too_weak(question, passages, chosen, evidence) or not self.focused(
            question, query, passages, chosen
        ):
            return refusal(question, passages)
        passages = list(passages)
        chosen = self.follow_lead(chosen, passages)
        text, citations = cite(chosen, passages)
        note = None
        if missing := undefined_terms(terms, passages, self.speech_text):
            listed = "、".join(f"“{t}”" for t in missing)
            note = f"注意:讲话只是提到了{listed},没有列出它的具体内容。"
            text += "\n\n" + note
        return Answer(question=question, text=text, refused=False, citations=citations, note=note)

    def sentence_scores(
        self, question: str, query: str, passages: Sequence[Passage]
    ) -> tuple[list[Sentence], list[Sentence]]:
        """Every sentence of the passages scored for the question, and the best one per sub-question."""
        query_tokens = tokenize(query)
        if not any(_CJK.search(t) for t in query_tokens):
            return self._semantic_sentences(query, passages), []
        idf = self.keywords.idf(query_tokens)
        terms = asked_terms(question, self.keywords.terms())
        occasions = self.occasions(passages)
        sentences = score_sentences(query_tokens, passages, idf, terms, occasions)
        part_leads = [
            best
            for part in question_parts(question)
            if (best := _best(score_sentences(tokenize(part), passages, idf, terms, occasions)))
        ]
        return sentences, part_leads

    def _too_weak(
        self, question: str, passages: Sequence[Passage], chosen: Sequence[Sentence], evidence: Evidence
    ) -> bool:
        """Refuse when nothing was found, a quoted phrase is nowhere, the kind of answer asked
        for (a year, a duration, a document) is missing, or the match is weak on every count."""
        parts = question_parts(question) or [question]
        if (
            not chosen
            or unmatched_quotes(question, passages)
            or all(missing_answer_type(part, chosen) for part in parts)
        ):
            return True
        return (
            evidence.lexical
            and chosen[0].score < self.settings.min_sentence_score
            and evidence.similarity < self.settings.min_similarity
        )

    def focused(
        self, question: str, query: str, passages: Sequence[Passage], chosen: Sequence[Sentence]
    ) -> bool:
        """The answer is about what the question asks: its specific terms are in the passages
        the answer quotes (their speech's title and opening included), and a question that asks
        for a value (how many, how long, when, which standard) has a sentence stating one about them."""
        if not any(_CJK.search(t) for t in tokenize(query)):
            return True
        weights = specific_weights(self.keywords, tokenize(query))
        used = sorted({s.passage for s in chosen})
        heads = self.store.speech_heads({passages[i].speech_id for i in used if passages[i].speech_id})
        context = {
            i: " ".join(
                (passages[i].speech_title, passages[i].heading_path, heads.get(passages[i].speech_id, ""))
            )
            for i in used
        }
        quoted = "".join(passages[i].text + context[i] for i in used)
        parts = question_parts(question) or [question]
        # A compound question is answered when one of its parts is (the other may be off-corpus).
        part_weights = (
            [specific_weights(self.keywords, tokenize(p)) for p in parts] if len(parts) > 1 else [weights]
        )
        vouched = (
            max((p.similarity for p in passages[:3]), default=0.0) >= self.settings.focus_similarity_vouch
        )
        if not vouched and all(
            missing_share(w, quoted) >= self.settings.focus_missing_max
            and len(missing_terms(w, quoted)) >= MIN_MISSING_TERMS
            for w in part_weights
        ):
            return False
        if any(year not in quoted for year in named_years(question)):
            return False
        if not all(asks_value(part) for part in parts):
            return True
        for part in parts:
            own = specific_weights(self.keywords, tokenize(part))  # a follow-up's own words
            if any(
                states_value(part, s.text)
                and missing_share(own, s.text + context[s.passage]) < self.settings.value_focus_missing_max
                for s in chosen
            ):
                return True
        return False

    def follow_lead(self, chosen: list[Sentence], passages: list[Passage]) -> list[Sentence]:
        """When the best sentence only announces the answer — restates the question, is a heading,
        or opens a list — quote what follows it (items, the heading's body), across chunks of the
        same speech (appended to passages); a restated question is not quoted at all."""
        lead = chosen[0]
        if not needs_continuation(lead.text):
            return chosen
        lists_already = any(
            s.passage == lead.passage and s.start >= lead.end and LIST_MARK.match(s.text) for s in chosen[1:]
        )
        if lists_already and not is_question(lead.text):
            return chosen
        chunks: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}

        def next_chunk(passage: Passage) -> tuple[str, str, dict[str, Any]] | None:
            if not passage.speech_id:
                return None
            if passage.speech_id not in chunks:
                chunks[passage.speech_id] = self.store.speech_chunks(passage.speech_id)
            rows = chunks[passage.speech_id]
            at = next((i for i, row in enumerate(rows) if row[0] == passage.chunk_id), None)
            return rows[at + 1] if at is not None and at + 1 < len(rows) else None

        following = following_sentences(passages, lead.passage, lead.end, next_chunk)
        extra = [Sentence(f.passage, f.start, f.end, f.text, 0.0) for f in continuation(lead.text, following)]
        if not extra:
            return chosen
        new = ([] if is_question(lead.text) else [lead]) + extra
        texts = {s.text for s in new}
        for sentence in chosen[1:]:
            if sentence.text not in texts and not is_question(sentence.text) and not _repeats(sentence, new):
                new.append(sentence)
                texts.add(sentence.text)
        return new

    def speech_text(self, speech_id: str) -> str:
        """The whole speech, all its chunks in order (overlapping sentences repeat; harmless here)."""
        if not speech_id:
            return ""
        return "\n".join(text for _, text, _ in self.store.speech_chunks(speech_id))

    def occasions(self, passages: Sequence[Passage]) -> dict[str, str]:
        """Each speech's own title and opening sentence: where it says what the meeting was.

        The speech's own title, not the display title: what tells two speeches of one title
        apart is drawn from their openings already, and counting it twice skews the scores."""
        openings = self.store.titled_openings({p.speech_id for p in passages if p.speech_id})
        return {
            p.speech_id: openings.get(p.speech_id, (p.speech_title, ""))[0]
            + "\n"
            + _first_sentences(openings.get(p.speech_id, ("", ""))[1])
            for p in passages
        }

    def _semantic_sentences(self, query: str, passages: Sequence[Passage], top: int = 3) -> list[Sentence]:
        """Across languages words do not match, so rank sentences by embedding similarity."""
        spans = [
            (rank, s.start, s.end, passage.text[s.start : s.end].strip())
            for rank, passage in enumerate(passages[:top])
            for s in split_sentences(passage.text)
        ]
        spans = [s for s in spans if len(s[3]) >= 4]
        if not spans:
            return []
        query_vector = self.embedder.embed_query(query)
        vectors = self.embedder.embed_passages([s[3] for s in spans])
        similarities = vectors @ query_vector
        return [
            Sentence(rank, start, end, text, float(sim) / (1.0 + PASSAGE_RANK_DECAY * rank))
            for (rank, start, end, text), sim in zip(spans, similarities, strict=True)
        ]


def _first_sentences(text: str, count: int = 2) -> str:
    spans = split_sentences(text)[:count]
    return text[spans[0].start : spans[-1].end] if spans else ""


def select_sentences(
    sentences: list[Sentence], passages: Sequence[Passage], wants_list: bool = False
) -> list[Sentence]:
    """The lead (best sentence), the list it introduces or belongs to, the sentence that
    carries it on, and a few strong supporting sentences — in that order."""
    if not sentences:
        return []
    ranked = sorted(sentences, key=lambda s: (-s.score, s.passage, s.start))
    lead = ranked[0]
    chosen = [lead]
    items = list_items_after(lead, sentences)
    if not items and wants_list:
        items = sibling_items(ranked, lead)
    chosen += [s for s in items if s not in chosen]
    after = _next_sentence(lead, sentences)
    if not items and LIST_MARK.match(lead.text) and len(lead.text) <= SHORT_ITEM:
        chosen += item_body(lead, sentences)  # a bare item ("二是灾害事故多发。") is a heading
    elif (
        not items and after and (after.score >= NEIGHBOUR_RATIO * lead.score or _CONTINUES.match(after.text))
    ):
        chosen.append(after)
    supporting = 0
    for sentence in ranked[1:]:
        if supporting >= MAX_SUPPORTING or sentence.score < SUPPORT_RATIO * lead.score:
            break
        if sentence.passage != lead.passage and sentence.score < OTHER_PASSAGE_RATIO * lead.score:
            continue
        if sentence not in chosen and not _repeats(sentence, chosen):
            chosen.append(sentence)
            supporting += 1
    return chosen


def item_body(item: Sentence, sentences: list[Sentence], limit: int = 2) -> list[Sentence]:
    """The sentences after an enumerated item, up to the next item."""
    body = []
    following = sorted(
        (s for s in sentences if s.passage == item.passage and s.start >= item.end), key=lambda s: s.start
    )
    for sentence in following[:limit]:
        if LIST_MARK.match(sentence.text):
            break
        body.append(sentence)
    return body


def _next_sentence(sentence: Sentence, sentences: list[Sentence]) -> Sentence | None:
    return next((s for s in sentences if s.passage == sentence.passage and s.start >= sentence.end), None)


def sibling_items(ranked: list[Sentence], lead: Sentence) -> list[Sentence]:
    """For a list question: the best-scoring enumerated item (一要…) among the top sentences,
    with the other items of the same list in its passage."""
    anchor = next(
        (
            s
            for s in ranked[:SIBLING_SEARCH]
            if LIST_MARK.match(s.text) and s.score >= SIBLING_RATIO * lead.score
        ),
        None,
    )
    if anchor is None:
        return []
    style = item_style(anchor.text)
    same_list = sorted(
        (s for s in ranked if s.passage == anchor.passage and item_style(s.text) == style),
        key=lambda s: s.start,
    )
    return same_list[:MAX_LIST_ITEMS]


def list_items_after(lead: Sentence, sentences: list[Sentence]) -> list[Sentence]:
    """When the lead announces a list ("呈现出“三个多发”的状况:"), the items that follow it."""
    if not _LEADS_INTO_LIST.search(lead.text):
        return []
    following = sorted(
        (s for s in sentences if s.passage == lead.passage and s.start >= lead.end), key=lambda s: s.start
    )
    if not following[:FIRST_ITEM_WITHIN] or not any(
        LIST_MARK.match(s.text) for s in following[:FIRST_ITEM_WITHIN]
    ):
        return []  # the list, if any, is not this one
    items = []
    for sentence in following[:LIST_WINDOW]:
        if LIST_MARK.match(sentence.text):  # an item; the sentences between are its body
            items.append(sentence)
            if len(items) >= MAX_LIST_ITEMS:
                break
    return items


def _repeats(sentence: Sentence, chosen: list[Sentence]) -> bool:
    mine = char_ngrams(sentence.text)
    return any(
        len(mine & char_ngrams(other.text)) / max(1, min(len(mine), len(char_ngrams(other.text))))
        > OVERLAP_LIMIT
        for other in chosen
    )


def cite(chosen: list[Sentence], passages: Sequence[Passage]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with [n] markers; one citation per passage, quoting the sentences used."""
    number: dict[int, int] = {}
    for sentence in chosen:
        number.setdefault(sentence.passage, len(number) + 1)
    lines = [f"{s.text}[{number[s.passage]}]" for s in chosen]
    citations = []
    for passage_index, n in number.items():
        passage = passages[passage_index]
        used = sorted((s for s in chosen if s.passage == passage_index), key=lambda s: s.start)
        citations.append(Citation.of(passage, n, _join_quotes(passage.text, used)))
    return "\n".join(lines), tuple(citations)


def _join_quotes(text: str, used: list[Sentence]) -> str:
    parts = [used[0].text]
    for previous, current in itertools.pairwise(used):
        gap = text[previous.end : current.start]
        parts.append(("" if not gap.strip() else "……") + current.text)
    return "".join(parts)


def refusal(question: str, passages: Sequence[Passage]) -> Answer:
    return Answer(question=question, text=refusal_text(passages), refused=True, related=tuple(passages[:3]))


def question_parts(question: str) -> list[str]:
    """The sub-questions of a compound question ("还有多少没有开工?对这些项目怎么推进?")."""
    parts = [p.strip() for p in re.split(r"[?？;；]", question) if len(p.strip()) >= 4]
    return parts if len(parts) > 1 else []


def _best(sentences: list[Sentence]) -> Sentence | None:
    return max(sentences, key=lambda s: s.score, default=None)


def refusal_text(passages: Sequence[Passage]) -> str:
    lines = [REFUSAL, "", RELATED_HEADER]
    for passage in passages[:3]:
        excerpt = passage.text.replace("\n", " ")
        excerpt = excerpt if len(excerpt) <= 80 else excerpt[:80] + "……"
        lines.append(f"· 《{passage.speech_title}》({passage.source}):{excerpt}")
    return "\n".join(lines)
