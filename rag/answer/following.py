"""Quoting what a chosen sentence needs from its speech to answer: what it announces (the list after
a lead, a heading's body, the items after "还存在一些问题和差距。"), the facts a conclusion is drawn
from, the rest of the numbered item a step belongs to, and the definition of a term it only names —
across chunks of the same speech (see rag.answer.continuation)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from ingest.index.text import LIST_MARK, split_sentences
from ingest.index.text import Sentence as Span
from rag.answer.continuation import (
    WINDOW,
    Following,
    as_passage,
    continuation,
    earlier_items,
    ends_in_semicolon,
    ends_section,
    following_sentences,
    inline_item_style,
    is_first_item,
    is_heading,
    is_question,
    item_style,
    later_items,
    needs_continuation,
    preceding_sentences,
)
from rag.answer.definitions import spells_out
from rag.answer.scoring import ASKED_BACK, Sentence
from rag.answer.selection import repeats
from rag.types import Passage

# Clauses of a semicolon series quoted after the one that names an asked term.
MAX_SERIES = 6
NextChunk = Callable[[Passage], tuple[str, str, dict[str, Any]] | None]
SpeechChunks = Callable[[str], list[tuple[str, str, dict[str, Any]]]]  # speech id → its chunks, in order


def chunk_after(speech: SpeechChunks) -> NextChunk:
    """The next chunk of a passage's speech, from the speech's chunks."""

    def next_chunk(passage: Passage) -> tuple[str, str, dict[str, Any]] | None:
        rows = speech(passage.speech_id)
        at = next((i for i, row in enumerate(rows) if row[0] == passage.chunk_id), None)
        return rows[at + 1] if at is not None and at + 1 < len(rows) else None

    return next_chunk


def whole_speech(rows: Sequence[tuple[str, str, dict[str, Any]]]) -> str:
    """A speech's chunks as one text (overlapping sentences repeat; harmless for spells_out)."""
    return "\n".join(text for _, text, _ in rows)


def follow_lead(
    chosen: list[Sentence],
    passages: list[Passage],
    next_chunk: NextChunk,
    *,
    wants_set: bool = False,
    wants_grounds: bool = False,
    wants_measures: bool = False,
    wants_directions: bool = False,
) -> list[Sentence]:
    """When the best sentence only announces the answer — restates the question, is a heading,
    or opens a list — quote what follows it (items, the heading's body), across chunks of the
    same speech (appended to passages); a restated question is not quoted at all. For a question
    that asks for several things, a lead that is one item of a list brings the list's later items."""
    lead = chosen[0]
    if needs_continuation(lead.text):
        chosen = _announced(chosen, passages, next_chunk)
    if wants_set and is_heading(lead.text):
        chosen = follow_section_list(chosen, passages, next_chunk)
    if wants_set:
        chosen = follow_list(chosen, passages, next_chunk)
    if wants_set and chosen[0] is lead and LIST_MARK.match(lead.text):
        chosen = follow_items(chosen, passages, next_chunk)
    if wants_grounds:
        chosen = own_answer(chosen, passages, next_chunk)
        chosen = grounds_before(chosen, passages)
    if wants_measures:
        chosen = whole_item(chosen, passages)
    if wants_directions and chosen[0] is lead:
        chosen = measures_after(chosen, passages)
    if wants_measures and not wants_set:  # what a quoted sentence announces ("纳入网格化管理。第一，……")
        chosen = follow_list(chosen, passages, next_chunk, across_paragraphs=False)
    return chosen


def _announced(chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk) -> list[Sentence]:
    """What a lead that announces the answer is followed by, quoted after it (see follow_lead)."""
    lead = chosen[0]
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


def follow_section_list(
    chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk
) -> list[Sentence]:
    """A heading that leads the answer to a list question ("哪几条硬规矩？") is answered by the list its
    section gives ("对此，要做到以下几点：一是……"), which may stand a few sentences after it: that
    list is quoted after what was chosen, unless items of its section are quoted already."""
    lead = chosen[0]
    following = following_sentences(passages, lead.passage, lead.end, next_chunk)
    section = []
    for sentence in following:
        if ends_section(lead.text, sentence.text):
            break
        section.append(sentence)
    section_texts = {f.text for f in section}
    if any(LIST_MARK.match(s.text) and s.text in section_texts for s in chosen[1:]):
        return chosen
    quoted = {s.text for s in chosen}
    for at, sentence in enumerate(section):
        if not _list_starts(sentence.text, section[at + 1 :]):
            continue
        rest = [f for f in continuation(sentence.text, section[at + 1 :]) if f.text not in quoted]
        if not rest:
            return chosen
        opener = (
            []
            if sentence.text in quoted
            else [Sentence(sentence.passage, sentence.start, sentence.end, sentence.text, 0.0)]
        )
        items = opener + [Sentence(f.passage, f.start, f.end, f.text, 0.0) for f in rest]
        # after the heading and what of its section is quoted, before sentences from elsewhere
        last = max(i for i, s in enumerate(chosen) if i == 0 or s.text in section_texts)
        return [*chosen[: last + 1], *items, *chosen[last + 1 :]]
    return chosen


def follow_items(chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk) -> list[Sentence]:
    """For a question that asks for several things, a lead that is one item of a list ("一是气候异常，
    …" for "为什么说今年形势更严峻？") is one reason of several: the list's later items follow it."""
    lead = chosen[0]
    following = following_sentences(passages, lead.passage, lead.end, next_chunk)
    quoted = {s.text for s in chosen}
    items = [
        Sentence(f.passage, f.start, f.end, f.text, 0.0)
        for f in later_items(lead.text, following)
        if f.text not in quoted
    ]
    # A later item ("三是执法处罚偏软" for "根源在哪里？") is one reason of several: the ones before it too.
    before = [
        Sentence(f.passage, f.start, f.end, f.text, 0.0)
        for f in earlier_items(
            lead.text, preceding_sentences(passages[lead.passage], lead.passage, lead.start)
        )
        if f.text not in quoted
    ]
    if not items and not before:
        return chosen
    end = items[0].start if items else None
    own = [
        s
        for s in chosen[1:]
        if s.passage == lead.passage and lead.end <= s.start and (end is None or s.start < end)
    ]
    rest = [s for s in chosen[1:] if s not in own and not repeats(s, items + before)]
    return [*before, lead, *own, *items, *rest]


def follow_list(
    chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk, *, across_paragraphs: bool = True
) -> list[Sentence]:
    """For a question that asks for several things (哪些, 为什么): a quoted sentence that a list
    follows at once ("还存在一些问题和差距。一是……；二是……") announces the answer without
    saying so; its items are quoted after it (the first such sentence only), also when the speaker
    asks the question between them ("……更加严峻。为什么这样说？一是……"). Without `across_paragraphs`, only
    a list in the sentence's own paragraph is followed, not the headings of the sections after it."""
    quoted = {s.text for s in chosen}
    for at, sentence in enumerate(chosen):
        if LIST_MARK.match(sentence.text):
            continue  # an item itself, not a lead
        following = following_sentences(passages, sentence.passage, sentence.end, next_chunk, limit=WINDOW)
        if len(following) > 1 and is_question(following[0].text):
            following = following[1:]  # "比往年更加严峻。为什么这样说？一是……": the question is not quoted
        if not _list_starts(sentence.text, following) or (
            is_heading(following[0].text) and gives_own_items(sentence.text)
        ):
            continue
        listed = continuation(sentence.text, following)
        if all(f.text in quoted for f in listed) or (
            not across_paragraphs and not _in_paragraph(sentence, listed, passages)
        ):
            continue
        # Items already chosen ("为什么说管得着？" and its "一是……" scored high) keep their place in the list.
        own = {s.text: s for s in chosen}
        items = [own.get(f.text) or Sentence(f.passage, f.start, f.end, f.text, 0.0) for f in listed]
        texts = {s.text for s in items}
        rest = [s for s in chosen[at + 1 :] if s.text not in texts and not repeats(s, items)]
        # The speaker's own question before the list is not quoted when the list answers it.
        head = chosen[:at] if is_question(sentence.text) and at > 0 else chosen[: at + 1]
        return head + items + rest
    return chosen


def gives_own_items(text: str) -> bool:
    """Does the sentence list its own items after a colon ("整个行动分三个阶段推进：3月至6月底为集中排查
    阶段，7月至9月底为集中整治阶段，……。")? The headings after it open the next sections, not its list."""
    colons = list(re.finditer(r"[:：]", text))
    if not colons or inline_item_style(text) is not None:
        return False
    return len(re.findall(r"[，,、；;]", text[colons[-1].end() :])) >= 2


def _in_paragraph(sentence: Sentence, listed: Sequence[Following], passages: list[Passage]) -> bool:
    """Do the items stand in the sentence's own paragraph (running text, not the next sections)?"""
    text = passages[sentence.passage].text
    return all(f.passage == sentence.passage and "\n" not in text[sentence.end : f.start] for f in listed)


def _list_starts(text: str, following: Sequence[Following]) -> bool:
    """Does a list start right after this sentence, or in it, its first item after a colon
    ("重点抓好三件事：一是……；" followed by "二是……")?"""
    if not following:
        return False
    opens = inline_item_style(text)
    return is_first_item(following[0].text) or (opens is not None and item_style(following[0].text) == opens)


# A sentence that draws the speaker's conclusion from what was just said ("这就告诉我们，防火的重点
# 不在深山，而在林缘。"): the grounds stand before it.
_CONCLUDES = re.compile(
    r"^\s*(这就?告诉我们|这(也|就|些|都|充分|足以)*(说明|表明|证明)|由此可见|可见|事实证明|实践证明|所以说)"
)


def own_answer(chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk) -> list[Sentence]:
    """For a why-question, a chosen sentence inside the speaker's answer to their own why-question
    ("这些问题的根源在哪里？归根到底有三条。一是利益驱动。[chosen]二是……") means that answer is the
    one asked for: its items (or body) are quoted first. The speaker's question is found before the
    chosen sentence in its passage, with no heading between them; a chosen speaker's question is
    replaced by its answer."""
    for sentence in chosen:
        text = passages[sentence.passage].text
        spans = split_sentences(text)
        before = [span for span in spans if span.end <= sentence.start][-WINDOW:]
        if ASKED_BACK.search(sentence.text):  # the speaker's question itself: its answer follows it
            before = [spans[at]] if (at := _span_at(spans, sentence.start)) is not None else []
        for span in reversed(before):
            body = text[span.start : span.end].strip()
            if span.opens_paragraph and is_heading(body):
                break  # the section's heading: the speaker's question would answer another section
            if not ASKED_BACK.search(body):
                continue
            following = following_sentences(passages, sentence.passage, span.end, next_chunk)
            answer = [Sentence(f.passage, f.start, f.end, f.text, 0.0) for f in continuation(body, following)]
            if not answer or (answer[-1].passage == sentence.passage and answer[-1].end < sentence.start):
                break  # the speaker's answer ends before the chosen sentence: it answers another point
            if sum(_opens_paragraph(s, passages) for s in answer) > 1:
                break  # answered by sections ("（一）……的需要。"): their headings alone say little
            texts = {s.text for s in answer}
            rest = [s for s in chosen if s is not sentence or not ASKED_BACK.search(s.text)]
            return answer + [s for s in rest if s.text not in texts and not repeats(s, answer)]
    return chosen


def _span_at(spans: Sequence[Span], position: int) -> int | None:
    """The index of the sentence span holding a position of the text."""
    return next((i for i, span in enumerate(spans) if span.start <= position < span.end), None)


def _opens_paragraph(sentence: Sentence, passages: Sequence[Passage]) -> bool:
    before = passages[sentence.passage].text[: sentence.start].rstrip(" \t\u3000")
    return not before or before.endswith("\n")


GROUNDS = 2  # sentences of the same paragraph quoted before a conclusion


def grounds_before(chosen: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """For a why-question, a quoted conclusion brings the sentences of its paragraph just before
    it, the facts it is drawn from ("火情发生在哪里？基本都在林缘结合部…"), quoted before it."""
    out: list[Sentence] = []
    quoted = {s.text for s in chosen}
    for sentence in chosen:
        if _CONCLUDES.match(sentence.text):
            text = passages[sentence.passage].text
            spans = split_sentences(text)
            at = next((i for i, span in enumerate(spans) if span.start >= sentence.start), len(spans))
            if at < len(spans):
                paragraph = spans[at].paragraph
                before: list[Sentence] = []
                for span in reversed(spans[:at]):
                    body = text[span.start : span.end].strip()
                    if span.paragraph != paragraph or body in quoted or not body:
                        break
                    before.insert(0, Sentence(sentence.passage, span.start, span.end, body, 0.0))
                    if sum(not is_question(s.text) for s in before) >= GROUNDS:
                        break
                out.extend(before)
                quoted.update(s.text for s in before)
        out.append(sentence)
    return out


ITEM_SENTENCES = 6  # an item paragraph longer than this is a section, not one measure


def whole_item(chosen: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """For a how-question, a lead sentence inside a numbered item ("3.把住祭祀用火关。春节……。各乡镇
    要……专人值守。要大力倡导鲜花祭扫……。") is one step of the measure the item gives: the item is
    quoted whole, its heading first, in its own order, when it is short enough to be one measure."""
    lead = chosen[0]
    text = passages[lead.passage].text
    spans = split_sentences(text)
    at = _span_at(spans, lead.start)
    if at is None:
        return chosen
    paragraph = [span for span in spans if span.paragraph == spans[at].paragraph]
    opening = text[paragraph[0].start : paragraph[0].end].strip()
    if not LIST_MARK.match(opening) or len(paragraph) > ITEM_SENTENCES or paragraph[0] is spans[at]:
        return chosen
    item = [
        Sentence(lead.passage, span.start, span.end, body, 0.0)
        for span in paragraph
        if (body := text[span.start : span.end].strip())
    ]
    texts = {s.text for s in item}
    return item + [s for s in chosen if s.text not in texts and not repeats(s, item)]


# A sentence that says what is to be done; not "主要是…", "重要", "要素", "要点".
_DIRECTS = re.compile(
    r"(?<![主重只想纲摘概])要(?![素点害是])|必须|应当|务必|严禁|禁止|不得|一律|确保|督促|责令"
)
MEASURES_AFTER = 3


def measures_after(chosen: list[Sentence], passages: list[Passage]) -> list[Sentence]:
    """For a measures question whose lead describes the situation ("全市现有快开门式压力容器146台……"), the
    measures are what its paragraph goes on to direct ("今年6月底前，必须对146台设备……逐台核查"): they
    point back to the subject ("设备") instead of naming it, so they score below the description.
    The first few are quoted after the lead."""
    lead = chosen[0]
    if _DIRECTS.search(lead.text) or is_heading(lead.text) or is_question(lead.text):
        return chosen
    text = passages[lead.passage].text
    spans = split_sentences(text)
    at = _span_at(spans, lead.start)
    if at is None:
        return chosen
    directs = [
        Sentence(lead.passage, span.start, span.end, body, 0.0)
        for span in spans[at + 1 :]
        if span.paragraph == spans[at].paragraph
        and _DIRECTS.search(body := text[span.start : span.end].strip())
    ][:MEASURES_AFTER]
    if not directs:
        return chosen
    new = [lead, *directs]
    return new + [s for s in chosen[1:] if s.text not in {d.text for d in directs} and not repeats(s, new)]


def definition_elsewhere(
    terms: Sequence[str], chosen: list[Sentence], passages: list[Passage], speech_chunks: SpeechChunks
) -> list[Sentence]:
    """A term the question asks about that the quoted passages name but do not spell out may be
    defined elsewhere in their speech ("有3座属于“头顶库”，下游1公里范围内有村庄…" in the overview,
    the measures under "2.严控“头顶库”风险。"): that sentence is quoted first, its chunk fetched
    (appended to passages). A definition written as a semicolon series is quoted to its full stop."""
    used = list(dict.fromkeys(s.passage for s in chosen))
    found: list[Sentence] = []
    for term in terms:
        mentioning = [i for i in used if term in passages[i].text]
        if not mentioning or spells_out(term, "\n".join(passages[i].text for i in mentioning)):
            continue
        like = passages[mentioning[0]]
        defining = _defining_sentence(term, speech_chunks(like.speech_id))
        if defining is None:
            continue
        chunk_id, text, meta, start, end = defining
        index = next((i for i, p in enumerate(passages) if p.chunk_id == chunk_id), None)
        if index is None:
            passages.append(as_passage(chunk_id, text, meta, like))
            index = len(passages) - 1
        found.append(Sentence(index, start, end, text[start:end].strip(), 0.0))
    texts = {s.text for s in found}
    return whole_definitions(
        terms, found + [s for s in chosen if s.text not in texts], passages, chunk_after(speech_chunks)
    )


def _defining_sentence(
    term: str, chunks: Sequence[tuple[str, str, dict[str, Any]]]
) -> tuple[str, str, dict[str, Any], int, int] | None:
    """The first sentence of the speech that names the term and, with the next, spells it out."""
    for chunk_id, text, meta in chunks:
        if term not in text or not spells_out(term, text):
            continue
        spans = split_sentences(text)
        for at, span in enumerate(spans):
            window = text[span.start : spans[min(at + 1, len(spans) - 1)].end]
            if term in text[span.start : span.end] and spells_out(term, window):
                return chunk_id, text, meta, span.start, span.end
    return None


def whole_definitions(
    terms: Sequence[str], chosen: list[Sentence], passages: list[Passage], next_chunk: NextChunk
) -> list[Sentence]:
    """A quoted clause that names an asked term and ends in a semicolon ("“三个一批”就是：……加固改造
    一批；", "“一瓶一码”就是……；") is the start of a series that spells the term out: the rest of it,
    to the full stop, follows it."""
    out: list[Sentence] = []
    texts = {s.text for s in chosen}
    for sentence in chosen:
        out.append(sentence)
        if not (ends_in_semicolon(sentence.text) and any(term in sentence.text for term in terms)):
            continue
        for f in following_sentences(passages, sentence.passage, sentence.end, next_chunk, MAX_SERIES):
            if f.text not in texts:
                out.append(Sentence(f.passage, f.start, f.end, f.text, 0.0))
                texts.add(f.text)
            if not ends_in_semicolon(f.text):
                break
    return out
