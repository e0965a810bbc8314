"""Picking the sentences an extractive answer quotes: the lead, its list, a few supporters."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from ingest.index.text import LIST_MARK
from rag.answer.continuation import item_style
from rag.answer.scoring import Sentence
from rag.retrieve import char_ngrams
from rag.types import Passage

_LEADS_INTO_LIST = re.compile(r"[:：]$|以下|如下|(几|[两三四五六七八九十])(个|项|点|条|方面)")
# A sentence that opens on the lead's own point: a contrast, a consequence, or a reference back to it
# ("针对这一问题,交通部门……改为上跨工程" after the accident it answers).
_CONTINUES = re.compile(
    r"^(但是|但|然而|所以|因此|因而|同时|并且|而且|特别是|尤其是|尤其|其中|这样|否则"
    r"|对此|为此|由此|此后|后来|针对(这一|这个|这些|这种|这类|上述|此类|以上)|对(这一|这个|这些|这种|上述)问题)"
)
WANTS_LIST = re.compile(r"哪几|哪些|几项|几个|几点|几条|哪[两三四五六七八九十]|分别")

MAX_SUPPORTING = 3
MAX_LIST_ITEMS = 6
LIST_WINDOW = 12  # sentences after a list's lead in which its items are looked for
FIRST_ITEM_WITHIN = 2  # ... and the first item must come this soon, or it is another list
NEIGHBOUR_RATIO = 0.2
SHORT_ITEM = 20
SIBLING_SEARCH = 12
SIBLING_RATIO = 0.25
SUPPORT_RATIO = 0.55
# A supporting sentence from another passage than the lead's must score this share of the lead:
# other passages are most often other topics. With the supporters' term test, on
# eval/calibration.jsonl: 0.5 → recall 0.905, citation precision 0.831; 0.6 → 0.905 / 0.842;
# 0.7 → 0.898 / 0.852. Complete answers matter more to a user than one extra cited passage: 0.6.
OTHER_PASSAGE_RATIO = 0.6
# ... but a runner-up this close to the lead earns its citation anyway: words cannot tell the two apart.
# On eval/calibration.jsonl, when another passage's best sentence scores ≥ 0.9 of the lead, the lead
# was wrong in 5 of 6 questions and the runner-up right in 3; between 0.85 and 0.9 in none of 4.
NEAR_TIE = 0.9
OVERLAP_LIMIT = 0.6


def select_sentences(
    sentences: list[Sentence],
    passages: Sequence[Passage],
    wants_list: bool = False,
    terms: Collection[str] = (),
    own: Collection[str] = (),
) -> list[Sentence]:
    """The lead (best sentence), the list it introduces or belongs to, the sentence that
    carries it on, and a few strong supporting sentences — in that order.

    terms, own: the question's words and a follow-up's own words, for the supporters' test."""
    if not sentences:
        return []
    ranked = sorted(sentences, key=lambda s: (-s.score, s.passage, s.start))
    lead = ranked[0]
    chosen = [lead]
    items = list_items_after(lead, sentences)
    if not items and wants_list:
        items = sibling_items(ranked, lead)
    bare = _bare_heading(lead)
    if bare:  # a bare item ("二是灾害事故多发。") is a heading: its body says it, before any siblings
        chosen += item_body(lead, sentences)
    for item in items:
        if item not in chosen:
            chosen.append(item)
            if not wants_list and _bare_heading(item):  # "二是管好船。": what to do is in its body
                chosen += [s for s in item_body(item, sentences) if s not in chosen]
    after = _next_sentence(lead, sentences)
    if (
        not bare
        and after
        and (_CONTINUES.match(after.text) or (not items and after.score >= NEIGHBOUR_RATIO * lead.score))
    ):
        chosen.append(after)  # "但是……", "所以……": the lead's own point goes on
    return chosen + supporters(ranked, chosen, passages, terms, own)


def supporters(
    ranked: list[Sentence],
    chosen: list[Sentence],
    passages: Sequence[Passage],
    terms: Collection[str] = (),
    own: Collection[str] = (),
) -> list[Sentence]:
    """A few strong sentences besides the lead's own. One from another passage must score near the
    lead, and its passage earns a citation only when one of its strong sentences (or its speech's
    title) holds a term of the question that the chosen sentences lack, or ties with the lead: a
    passage that only repeats the lead's words is most often the same policy words said on another
    point, and its citation holds no answer. For a follow-up ("那煤矿方面呢?"), a passage that names
    its own words where the lead's passage does not earns its citation too: the lead most often
    comes from the earlier topic."""
    lead = chosen[0]
    strong = [
        s
        for s in ranked[1:]
        if s.score >= SUPPORT_RATIO * lead.score
        and (s.passage == lead.passage or s.score >= OTHER_PASSAGE_RATIO * lead.score)
    ]
    said = "".join(_squash(s.text + passages[s.passage].speech_title) for s in chosen)
    lead_passage = _squash(passages[lead.passage].text)
    earned = {s.passage for s in chosen} | {
        s.passage
        for s in strong
        if not terms
        or s.score >= NEAR_TIE * lead.score
        or any(t in _squash(s.text + passages[s.passage].speech_title) and t not in said for t in terms)
        or any(t in _squash(passages[s.passage].text) and t not in lead_passage for t in own)
    }
    found: list[Sentence] = []
    for sentence in strong:
        if len(found) >= MAX_SUPPORTING:
            break
        if sentence.passage != lead.passage and _bare_heading(sentence):
            continue  # "三、深化煤矿安全大检查工作。" says nothing by itself, and costs a citation
        if sentence.passage in earned and sentence not in chosen and not repeats(sentence, chosen + found):
            found.append(sentence)
    return found


def _bare_heading(sentence: Sentence) -> bool:
    return bool(LIST_MARK.match(sentence.text)) and len(sentence.text) <= SHORT_ITEM


def _squash(text: str) -> str:
    return "".join(text.split())


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
    if anchor is None or _heads(anchor, lead, ranked):
        return []
    style = item_style(anchor.text)
    same_list = sorted(
        (s for s in ranked if s.passage == anchor.passage and item_style(s.text) == style),
        key=lambda s: s.start,
    )
    return same_list[:MAX_LIST_ITEMS] if len(same_list) > 1 else []  # one item is no list


def _heads(item: Sentence, lead: Sentence, sentences: list[Sentence]) -> bool:
    """Is the item the heading of the lead's own section? Its siblings are then other sections,
    not the things the lead lists ("（三）加强经费保障。县财政……重点用于……" for 用在哪几件事)."""
    if item.passage != lead.passage or item.start >= lead.start:
        return False
    return not any(
        s.passage == lead.passage and item.start < s.start < lead.start and LIST_MARK.match(s.text)
        for s in sentences
    )


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


def repeats(sentence: Sentence, chosen: list[Sentence]) -> bool:
    mine = char_ngrams(sentence.text)
    return any(
        len(mine & char_ngrams(other.text)) / max(1, min(len(mine), len(char_ngrams(other.text))))
        > OVERLAP_LIMIT
        for other in chosen
    )
