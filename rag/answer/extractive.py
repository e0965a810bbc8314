"""Extractive answers: the speeches' own sentences, each cited, or a plain refusal.

No language model is needed. The answer is built from whole sentences of the
retrieved passages, picked by how much of the question's key vocabulary they
carry (weighted by rarity, as BM25 does). Every claim is therefore a verbatim
span of a cited passage; only the connective words are ours.

When the evidence is weak, the answer says so and shows the closest passages
as 相关段落 without claiming they answer the question.

The parts: scoring (sentences), selection (which to quote), checks (when to refuse),
citing (the text, its citations, the refusal); this module puts them together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ingest.index.keywords import KeywordIndex
from ingest.index.store import ChunkStore
from ingest.index.text import split_sentences
from ingest.index.tokenize import find_slogans, tokenize
from ingest.suspicious import is_suspicious
from rag.answer.answerability import (
    asked_attribute,
    asks_value,
    content_tokens,
    lacks_focus,
    missing_share,
    named_documents,
    named_years,
    names_what_is_absent,
    ratio_about,
    scope_matches,
    specific_weights,
    states_value,
)
from rag.answer.checks import missing_answer_type, question_parts, unmatched_quotes
from rag.answer.citing import REFUSAL, RELATED_HEADER, cite, refusal, refusal_text
from rag.answer.following import SpeechChunks, chunk_after, definition_elsewhere, follow_lead, whole_speech
from rag.answer.scoring import (
    ASKS_HOW,
    ASKS_MEASURES,
    ASKS_WHY,
    CAUSE_BONUS,
    CJK,
    DIRECTIVE_BONUS,
    LIST_BONUS,
    PASSAGE_RANK_DECAY,
    Evidence,
    Sentence,
    asked_terms,
    best,
    definable,
    definitions,
    evidence_strength,
    first_sentences,
    quoted_phrases,
    score_sentences,
    undefined_terms,
    weighted_coverage,
)
from rag.answer.selection import WANTS_LIST, list_items_after, repeats, select_sentences
from rag.config import Settings
from rag.types import Answer, Passage

__all__ = [
    "MENTION_NOTE",
    "NO_INDEX",
    "REFUSAL",
    "RELATED_HEADER",
    "AnswerComposer",
    "Evidence",
    "Sentence",
    "asked_terms",
    "cite",
    "evidence_strength",
    "list_items_after",
    "mentioned_only",
    "missing_answer_type",
    "question_parts",
    "refusal",
    "refusal_text",
    "score_sentences",
    "select_sentences",
    "undefined_terms",
    "unmatched_quotes",
    "weighted_coverage",
]

MENTION_MARK = "讲话只是提到了"  # what every mention-only note says (the evaluation counts it)
MENTION_NOTE = "注意:" + MENTION_MARK + "{listed},没有列出它的具体内容。"
_NOTED_TERM = re.compile(r"“([^”]+)”")


def mentioned_only(note: str | None) -> list[str]:
    """The terms an answer's note says the speeches only mention (for the model's instructions)."""
    return _NOTED_TERM.findall(note.split(MENTION_MARK, 1)[1]) if note and MENTION_MARK in note else []


NO_INDEX = "索引里还没有讲话。请先导入讲话文件(python -m ingest 文件或文件夹)。"
# Questions that ask for several things: items, reasons, problems.
ASKS_FOR_SET = re.compile(WANTS_LIST.pattern + "|" + ASKS_WHY.pattern + r"|不足|短板|薄弱|差距|问题")


class SentenceEmbedder(Protocol):
    def embed_query(self, text: str) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Asked:
    """What is worked out once per question and passed down: its tokens, the terms it asks
    about, its slogans and its sub-questions."""

    question: str
    query: str
    tokens: list[str]
    terms: list[str]
    slogans: set[str]
    parts: list[str]

    @classmethod
    def of(cls, question: str, query: str, known_terms: set[str]) -> Asked:
        slogans = find_slogans(question)
        return cls(
            question=question,
            query=query,
            tokens=tokenize(query),
            terms=asked_terms(question, known_terms, slogans),
            slogans=slogans,
            parts=question_parts(question),
        )

    @property
    def lexical(self) -> bool:
        return any(CJK.search(t) for t in self.tokens)


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
        asked = Asked.of(question, query, self.keywords.terms())
        evidence = evidence_strength(asked.tokens, passages)
        if not evidence.lexical and evidence.similarity < self.settings.min_similarity_crosslingual:
            return refusal(question, passages)
        sentences, part_leads = self._scores(asked, passages)
        words = [t for t in asked.tokens if len(t) > 1] if asked.lexical else []
        own = self._follow_up_words(asked)
        chosen = select_sentences(
            sentences, passages, wants_list=bool(WANTS_LIST.search(question)), terms=words, own=own
        )
        chosen = self.drop_other_speeches(asked, chosen, passages)
        part_leads = [lead for part, lead in part_leads if self._answers_part(asked, part, lead, passages)]
        chosen += [s for s in part_leads if s not in chosen and not repeats(s, chosen)]
        chosen += definitions(asked.terms, sentences, chosen)
        if self._too_weak(asked, passages, chosen, evidence) or not self.focused(asked, passages, chosen):
            return refusal(question, passages)
        passages = list(passages)
        speech = self._speech_reader()
        chosen = self.follow_lead(
            chosen,
            passages,
            wants_set=bool(ASKS_FOR_SET.search(question)),
            wants_grounds=bool(ASKS_WHY.search(question)),
            wants_measures=bool(ASKS_HOW.search(question)) and not WANTS_LIST.search(question),
            wants_directions=bool(ASKS_MEASURES.search(question)),
            speech=speech,
        )
        chosen = definition_elsewhere(asked.terms, chosen, passages, speech)
        text, citations = cite(chosen, passages)
        note = None
        if missing := undefined_terms(
            definable(asked.terms, self.keywords), passages, lambda speech_id: whole_speech(speech(speech_id))
        ):
            listed = "、".join(f"“{t}”" for t in missing)
            note = MENTION_NOTE.format(listed=listed)
            text += "\n\n" + note
        return Answer(question=question, text=text, refused=False, citations=citations, note=note)

    def sentence_scores(
        self, question: str, query: str, passages: Sequence[Passage], *, asked: Asked | None = None
    ) -> tuple[list[Sentence], list[Sentence]]:
        """Every sentence of the passages scored for the question, and the best one per sub-question."""
        asked = asked or Asked.of(question, query, self.keywords.terms())
        sentences, part_leads = self._scores(asked, passages)
        return sentences, [lead for _, lead in part_leads]

    def _scores(
        self, asked: Asked, passages: Sequence[Passage]
    ) -> tuple[list[Sentence], list[tuple[str, Sentence]]]:
        """sentence_scores, with each sub-question's best sentence paired with the sub-question."""
        if not asked.lexical:
            return self._semantic_sentences(asked.query, passages), []
        idf = self.keywords.idf(asked.tokens)
        occasions = self.occasions(passages)
        measures, listing = ASKS_MEASURES.search(asked.question), WANTS_LIST.search(asked.question)
        # How-questions get the directive factor, which-ones questions the enumeration factor; one
        # asking both ("哪些措施") wants the items whatever their mood and form: neither.
        bonus = DIRECTIVE_BONUS if measures and not listing else 1.0
        value = asked.question if asks_value(asked.question) else ""
        why = CAUSE_BONUS if ASKS_WHY.search(asked.question) else 1.0
        enumerates = LIST_BONUS if listing and not measures else 1.0
        quoted = quoted_phrases(asked.question)
        sentences = score_sentences(
            asked.tokens, passages, idf, asked.terms, occasions, bonus, quoted, value, why, enumerates
        )
        part_leads = [
            (part, lead)
            for part in asked.parts
            if (lead := best(score_sentences(tokenize(part), passages, idf, asked.terms, occasions)))
        ]
        return sentences, part_leads

    def _answers_part(self, asked: Asked, part: str, lead: Sentence, passages: Sequence[Passage]) -> bool:
        """Is a sub-question's best sentence about it? Not when it lacks most of the sub-question's
        specific terms, nor, for a value asked, when it states none for them: an off-corpus part
        of a compound question then adds nothing (and cites a passage without the answer). A part
        that names nothing ("在什么时间段？") asks about the whole question's subject."""
        passage = passages[lead.passage]
        text = " ".join((lead.text, passage.speech_title, passage.heading_path))
        named = content_tokens(tokenize(part))
        own = specific_weights(self.keywords, named if named else asked.tokens)
        if not asks_value(part):
            return missing_share(own, text) < self.settings.focus_missing_max
        return (
            states_value(part, lead.text)
            and scope_matches(part, text)
            and missing_share(own, text) < self.settings.value_focus_missing_max
        )

    def drop_other_speeches(
        self, asked: Asked, chosen: list[Sentence], passages: Sequence[Passage]
    ) -> list[Sentence]:
        """A supporting sentence from another speech than the lead's stays only when its passage is
        closer to the question in meaning than the lead's: most often another speech is another
        meeting that shares the policy words (on eval/calibration.jsonl four in five such citations
        held no answer), but when the lead is the wrong sentence, the right one may be elsewhere.
        Passage cosines are at hand; sentence cosines did no better on calibration (citation
        precision 0.772 vs 0.765, recall 0.894 vs 0.890) and cost an embedding per answer."""
        lead = chosen[0]
        others = [s for s in chosen[1:] if passages[s.passage].speech_id != passages[lead.passage].speech_id]
        if not others:
            return chosen
        bar = passages[lead.passage].similarity
        # ... or, for a follow-up, when its passage names what the follow-up itself asks about and the
        # lead's does not ("那煤矿方面呢?" after flood checks: the lead is from the earlier topic).
        squashed = {
            i: "".join(passages[i].text.split()) for i in {lead.passage, *(s.passage for s in others)}
        }
        lacking = [t for t in self._follow_up_words(asked) if t not in squashed[lead.passage]]
        return [
            s
            for s in chosen
            if s not in others
            or passages[s.passage].similarity >= bar
            or any(t in squashed[s.passage] for t in lacking)
        ]

    def _follow_up_words(self, asked: Asked) -> list[str]:
        """A follow-up's own specific words ("那煤矿方面呢?" → 煤矿); none for a question on its own."""
        if asked.query == asked.question:
            return []
        return list(specific_weights(self.keywords, tokenize(asked.question)))

    def _too_weak(
        self, asked: Asked, passages: Sequence[Passage], chosen: Sequence[Sentence], evidence: Evidence
    ) -> bool:
        """Refuse when nothing was found, a quoted phrase is nowhere, the kind of answer asked
        for (a year, a duration, a document) is missing, or the match is weak on every count."""
        parts = asked.parts or [asked.question]
        if (
            not chosen
            or unmatched_quotes(asked.question, passages, asked.slogans)
            or all(missing_answer_type(part, chosen) for part in parts)
        ):
            return True
        return (
            evidence.lexical
            and chosen[0].score < self.settings.min_sentence_score
            and evidence.similarity < self.settings.min_similarity
        )

    def focused(self, asked: Asked, passages: Sequence[Passage], chosen: Sequence[Sentence]) -> bool:
        """The answer is about what the question asks: its specific terms are in the passages
        the answer quotes (their speech's title and opening included), and a question that asks
        for a value (how many, how long, when, which standard) has a sentence stating one about them."""
        if not asked.lexical:
            return True
        used = sorted({s.passage for s in chosen})
        heads = self.store.speech_heads({passages[i].speech_id for i in used if passages[i].speech_id})
        context = {
            i: " ".join(
                (passages[i].speech_title, passages[i].heading_path, heads.get(passages[i].speech_id, ""))
            )
            for i in used
        }
        quoted = "".join(passages[i].text + context[i] for i in used)
        parts = asked.parts or [asked.question]
        # A compound question is answered when one of its parts is (the other may be off-corpus).
        whole = specific_weights(self.keywords, asked.tokens)
        own = [specific_weights(self.keywords, tokenize(p)) for p in parts] if len(parts) > 1 else [whole]
        # A part with no words of its own ("有什么管理措施？" after "孔明灯能不能放？") asks about the whole.
        part_weights = [words or whole for words in own]
        close = max((p.similarity for p in passages[:3]), default=0.0) >= self.settings.focus_similarity_vouch
        vouched = close and not all(names_what_is_absent(self.keywords, w, quoted) for w in part_weights)
        if not vouched and all(lacks_focus(w, quoted, self.settings.focus_missing_max) for w in part_weights):
            return False
        if any(year not in quoted for year in named_years(asked.question)):
            return False
        squashed = "".join(quoted.split())
        if all((head := asked_attribute(part)) and head not in squashed for part in parts):
            return False
        if any("".join(title.split()) not in squashed for title in named_documents(asked.question)):
            return False
        if not all(asks_value(part) for part in parts):
            return True
        # A single part is asked as the whole query (a follow-up's own words lack its subject), and so
        # is a part without words of its own ("在什么时间段？"): its meaning is the whole question's.
        return any(
            self.states_value_about(part, part if len(parts) > 1 and words else asked.query, chosen, context)
            for part, words in zip(parts, own, strict=True)
        )

    def states_value_about(
        self, part: str, query: str, chosen: Sequence[Sentence], context: dict[int, str]
    ) -> bool:
        """Does a chosen sentence state the value a how-many / how-long / when question asks, about
        what it asks? Off-corpus value questions meet sentences with a number about something next to
        their focus (a "860人" team for "冲锋舟载多少人"): such a sentence must hold most of the
        question's specific words, or be as close to the question in meaning as paraphrases are."""
        own = specific_weights(self.keywords, tokenize(part))
        settings = self.settings
        candidates = [
            (s, share)
            for s in chosen
            if states_value(part, s.text)
            and ratio_about(part, s.text, list(own))
            and scope_matches(part, s.text + context[s.passage])
            and (share := missing_share(own, s.text + context[s.passage])) < settings.value_focus_missing_max
        ]
        if not candidates:
            return False
        vectors = self.embedder.embed_passages([s.text for s, _ in candidates])
        similarities = vectors @ self.embedder.embed_query(query)
        return any(
            similarity >= settings.value_sentence_min_similarity
            and (share < settings.value_focus_loose_missing or similarity >= settings.value_focus_similarity)
            for (_, share), similarity in zip(candidates, similarities, strict=True)
        )

    def follow_lead(
        self,
        chosen: list[Sentence],
        passages: list[Passage],
        wants_set: bool = False,
        wants_grounds: bool = False,
        wants_measures: bool = False,
        wants_directions: bool = False,
        speech: SpeechChunks | None = None,
    ) -> list[Sentence]:
        """What the chosen sentences announce, quoted after them, what a quoted conclusion is drawn
        from, before it, and the whole item a measure is one step of (see rag.answer.following)."""
        return follow_lead(
            chosen,
            passages,
            chunk_after(speech or self._speech_reader()),
            wants_set=wants_set,
            wants_grounds=wants_grounds,
            wants_measures=wants_measures,
            wants_directions=wants_directions,
        )

    def _speech_reader(self) -> SpeechChunks:
        """A speech's chunks in order, read from the store once per answer: following a list into
        the next chunk, a term's definition elsewhere and the mention-only check all use them."""
        chunks: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}

        def read(speech_id: str) -> list[tuple[str, str, dict[str, Any]]]:
            if speech_id and speech_id not in chunks:
                chunks[speech_id] = self.store.speech_chunks(speech_id)
            return chunks.get(speech_id, [])

        return read

    def occasions(self, passages: Sequence[Passage]) -> dict[str, str]:
        """Each speech's own title, speaker line and opening sentence: where it says whose and what
        meeting it is (a question naming the speaker's city, "临江", names the speech).

        The speech's own title, not the display title: what tells two speeches of one title
        apart is drawn from their openings already, and counting it twice skews the scores."""
        openings = self.store.titled_openings({p.speech_id for p in passages if p.speech_id})
        return {
            p.speech_id: openings.get(p.speech_id, (p.speech_title, ""))[0]
            + "\n"
            + first_sentences(openings.get(p.speech_id, ("", ""))[1])
            for p in passages
        }

    def _semantic_sentences(self, query: str, passages: Sequence[Passage], top: int = 3) -> list[Sentence]:
        """Across languages words do not match, so rank sentences by embedding similarity."""
        spans = [
            (rank, s.start, s.end, passage.text[s.start : s.end].strip())
            for rank, passage in enumerate(passages[:top])
            for s in split_sentences(passage.text)
        ]
        spans = [s for s in spans if len(s[3]) >= 4 and not is_suspicious(s[3])]
        if not spans:
            return []
        query_vector = self.embedder.embed_query(query)
        vectors = self.embedder.embed_passages([s[3] for s in spans])
        similarities = vectors @ query_vector
        return [
            Sentence(rank, start, end, text, float(sim) / (1.0 + PASSAGE_RANK_DECAY * rank))
            for (rank, start, end, text), sim in zip(spans, similarities, strict=True)
        ]
