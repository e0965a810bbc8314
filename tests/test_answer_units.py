"""Narrow unit tests of the answer and retrieval helpers (no model, no Chroma)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.index.keywords import KeywordDoc, KeywordIndex
from ingest.index.tokenize import find_slogans, tokenize
from rag.answer.extractive import (
    Sentence,
    asked_terms,
    cite,
    list_items_after,
    missing_answer_type,
    question_parts,
    undefined_terms,
    unmatched_quotes,
)
from rag.api import check_question
from rag.conversation import is_follow_up, nth_item, retrieval_query
from rag.retrieve import Filters, drop_near_duplicates, fuse, named_terms, reciprocal_rank_fusion, rerank
from rag.types import Passage


def _passage(text: str, chunk_id: str = "c1") -> Passage:
    return Passage(chunk_id=chunk_id, text=text, speech_title="讲话", source="a.txt", score=1.0)


def _sentence(text: str, passage: int = 0, start: int = 0, score: float = 1.0) -> Sentence:
    return Sentence(passage, start, start + len(text), text, score)


def test_rrf_rewards_agreement_between_rankings() -> None:
    scores = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]])
    assert max(scores, key=scores.get) == "b"
    assert set(scores) == {"a", "b", "c", "d"}
    weighted = reciprocal_rank_fusion([["a", "b"], ["b", "a"]], weights=[0.6, 1.0])
    assert weighted["b"] > weighted["a"], "the heavier ranking decides a tie"


@pytest.mark.parametrize("quotes", ["“”", '""', "「」"])
def test_a_quoted_rare_word_of_the_question_gets_a_ranking_of_its_own(quotes: str) -> None:
    """A known slogan of three or more characters, and a rare single word the question quotes; not a
    common word quoted as a pattern, a quoted phrase cut into several words, or an unquoted word."""
    o, c = quotes
    shares = {"深查": 0.004, "严格": 0.2}.get

    def share(words: list[str]) -> dict[str, float]:
        return {w: shares(w, 0.0) for w in words}

    assert named_terms(f"第二个环节{o}深查{c}要查哪些地方?", set(), share) == ["深查"]
    assert named_terms(f"特殊作业提出了哪几个{o}严格{c}?", set(), share) == []
    assert named_terms("第二个环节深查要查哪些地方?", {"深查"}, share) == []
    assert named_terms(f"{o}五个一批{c}是什么?", {"五个一批", "两查"}, share) == ["五个一批"]
    assert named_terms(f"{o}安全生产责任制度{c}怎么落实?", set(), share) == []


def test_a_clear_keyword_winner_is_not_buried_by_fusion() -> None:
    dense = ["m", "n", "o", "p"]
    keyword = [("w", 25.5), ("m", 7.8), ("n", 7.3), ("o", 7.0)]  # "w" holds the question's rare words
    fused = fuse(dense, keyword, [])
    assert max(fused, key=fused.get) == "w"
    close = fuse(dense, [("w", 8.0), ("m", 7.8), ("n", 7.3), ("o", 7.0)], [])
    assert max(close, key=close.get) == "m", "a close keyword race is left to agreement between rankings"


def test_near_duplicates_keep_the_better_ranked() -> None:
    text = "安全生产重于泰山,各地要压紧压实责任,坚决防范遏制重特大事故。"
    kept = drop_near_duplicates(
        [_passage(text, "1"), _passage(text + "同志们。", "2"), _passage("完全不同的一段话。", "3")]
    )
    assert [p.chunk_id for p in kept] == ["1", "3"]


def test_chroma_filters() -> None:
    assert Filters().chroma_where() is None
    assert Filters(speech_ids=("s1",)).chroma_where() == {"speech_id": {"$in": ["s1"]}}
    both = Filters(speech_ids=("s1",), sources=("a.txt",)).chroma_where()
    assert both == {"$and": [{"speech_id": {"$in": ["s1"]}}, {"source": {"$in": ["a.txt"]}}]}


def test_follow_ups() -> None:
    answer = "当前呈现出“三个多发”:一是较大事故多发。[1]\n二是灾害事故多发。[1]\n三是涉险事故多发。[1]"
    assert nth_item(answer, 2) == "二是灾害事故多发"
    assert nth_item(answer, 5) is None
    assert is_follow_up("那煤矿方面呢?") and is_follow_up("第二点具体怎么做?")
    assert not is_follow_up("“三个必须”指什么?")
    history = [("煤矿当前的“三个多发”是什么?", answer)]
    assert retrieval_query("“三个必须”指什么?", history) == "“三个必须”指什么?"
    assert "二是灾害事故多发" in retrieval_query("第二点具体怎么做?", history)
    assert retrieval_query("那煤矿方面呢?", [("汛期怎么排查?", "…")]).startswith("汛期怎么排查?")


def test_answer_types_and_quotes() -> None:
    assert missing_answer_type("“安全生产月”是从哪一年开始的?", [_sentence("要开展好安全生产月活动。")])
    assert not missing_answer_type("是从哪一年开始的?", [_sentence("2002年起每年6月开展。")])
    assert missing_answer_type("事故后多长时间内报告?", [_sentence("3月25日交办了问题。")])
    assert not missing_answer_type("事故后多长时间内报告?", [_sentence("要在1小时内报告。")])
    assert not missing_answer_type(
        "在一个园区要固定待多久？", [_sentence("每个专家组固定在相应园区三年不变。")]
    )
    assert missing_answer_type("在一个园区要固定待多久？", [_sentence("2024年成立了专家组。")])
    assert missing_answer_type("是哪个文件规定的?", [_sentence("要先通风再检测。")])
    assert not missing_answer_type("怎么做?", [_sentence("要先通风再检测。")])
    for comma, mark in (("，", "？"), (",", "?")):  # "from when": a year, a date or a clock time
        asked = f"禁渔期从什么时候开始{comma}到什么时候结束{mark}"
        assert not missing_answer_type(asked, [_sentence(f"今年休渔从5月1日12时开始{comma}到9月16日结束。")])
        assert not missing_answer_type(asked, [_sentence(f"从2019年起{comma}每年都要休渔。")])
        assert missing_answer_type(asked, [_sentence(f"休渔期间{comma}渔船要回港停泊。")])
    for mark in ("？", "?"):  # a body asked for: the sentence must name one
        asked = f"食堂燃气报警装置由哪个部门验收{mark}"
        assert missing_answer_type(asked, [_sentence("餐饮企业必须安装可燃气体报警装置，并与切断阀联动。")])
        assert not missing_answer_type(asked, [_sentence("县市场监管局要加强对报警装置的检查。")])
        assert not missing_answer_type(
            f"哪些部门要参与{mark}", [_sentence("公安、交通运输等部门要各负其责，密切配合。")]
        )
    passages = [_passage("严格执行“四个一律”“五个一批”。")]
    assert unmatched_quotes("“先通风、再检测、后作业”是哪个文件规定的?", passages) == [
        "先通风、再检测、后作业"
    ]
    assert unmatched_quotes("“四个一律”要求什么?", passages) == []


def test_terms_mentioned_but_not_defined() -> None:
    passages = [_passage("严格执行“四个一律”“五个一批”。全面落实“三个必须”(管行业必须管安全)要求。")]
    assert asked_terms("讲话里“三个必须”的内容", set()) == ["三个必须"]
    assert asked_terms("落实“三个必须”的单位有哪些?", set()) == ["三个必须"]
    assert asked_terms("怎样落实责任?", {"三个必须"}) == []
    assert undefined_terms(["四个一律", "三个必须"], passages) == ["四个一律"]


def test_list_items_follow_their_lead() -> None:
    text = "形势呈现出“三个多发”:一是较大事故多发。到目前发生x起。二是灾害事故多发。三是涉险事故多发。"
    sentences, start = [], 0
    for part in [
        "形势呈现出“三个多发”:一是较大事故多发。",
        "到目前发生x起。",
        "二是灾害事故多发。",
        "三是涉险事故多发。",
    ]:
        sentences.append(_sentence(part, start=start))
        start += len(part)
    items = list_items_after(sentences[0], sentences)
    assert [s.text for s in items] == ["二是灾害事故多发。", "三是涉险事故多发。"]
    answer, citations = cite([sentences[0], *items], [_passage(text)])
    assert answer.count("[1]") == 3 and len(citations) == 1
    assert (
        citations[0].quote == "形势呈现出“三个多发”:一是较大事故多发。……二是灾害事故多发。三是涉险事故多发。"
    )


def test_compound_questions_split() -> None:
    assert question_parts("还有多少没有开工?对这些项目怎么推进?") == [
        "还有多少没有开工",
        "对这些项目怎么推进",
    ]
    assert question_parts("“三个必须”指什么?") == []


def test_check_question_tidies_and_rejects() -> None:
    assert check_question("  “三个必须”\x00指什么?\n") == "“三个必须” 指什么?"


def test_slogans_stay_one_token_and_keyword_index_is_incremental(tmp_path: Path) -> None:
    assert find_slogans("严格执行“四个一律”“五个一批”,坚持“全面拉网、不留死角”") == {"四个一律", "五个一批"}
    index = KeywordIndex(tmp_path / "k.sqlite")
    docs = [
        KeywordDoc("1", "严格执行“两书一函”制度。", "s1", "a.txt"),
        KeywordDoc("2", "开展安全大检查。", "s2", "b.txt"),
    ]
    assert index.sync(docs) == (2, 0)
    assert "两书一函" in tokenize("两书一函是什么")
    assert index.search("两书一函", 5)[0][0] == "1"
    assert index.sync(docs) == (0, 0)  # nothing changed, nothing touched
    assert index.sync([*docs[1:], KeywordDoc("3", "落实两书一函。", "s1", "a.txt")]) == (1, 1)
    assert index.ids() == {"2", "3"}
    assert [i for i, _ in index.search("两书一函", 5, speech_ids=["s2"])] == []
    assert index.idf(["两书一函"])["两书一函"] < index.idf(["不存在的词"])["不存在的词"]


def test_a_configured_reranker_reorders_candidates() -> None:
    class Judge:  # stands in for sentence_transformers.CrossEncoder
        def predict(self, pairs: list[tuple[str, str]]) -> list[float]:
            return [float("煤矿" in text) for _, text in pairs]

    ranked = rerank(Judge(), "煤矿", [_passage("防汛工作。", "1"), _passage("煤矿安全。", "2")])
    assert [p.chunk_id for p in ranked] == ["2", "1"] and ranked[0].score == 1.0


def test_a_but_after_the_lead_is_quoted_even_when_a_list_was_found() -> None:
    """ "关键在产业的培育。但是三大产业规模还比较小……": for "存在什么不足" the "但是" sentence is the
    answer, whatever list the question's "几个" also brought."""
    from rag.answer.selection import select_sentences

    texts = ["关键的关键也在产业的培育。", "但是我们的三大产业规模还比较小。", "一是煤电。", "二是化工。"]
    passages = [_passage("".join(texts[:2]), "c1"), _passage("".join(texts[2:]), "c2")]
    sentences = [
        _sentence(texts[0], 0, 0, 1.0),
        _sentence(texts[1], 0, len(texts[0]), 0.05),
        _sentence(texts[2], 1, 0, 0.5),
        _sentence(texts[3], 1, len(texts[2]), 0.4),
    ]
    chosen = select_sentences(sentences, passages, wants_list=True)
    assert texts[1] in [s.text for s in chosen]
    assert texts[2] in [s.text for s in chosen], "the list is still there"


@pytest.mark.parametrize("marks", [("（二）", "（三）"), ("(二)", "(三)")])
def test_the_heading_above_the_lead_brings_no_sibling_sections(marks: tuple[str, str]) -> None:
    """For "经费主要用在哪几件事上" the lead lists them itself; the heading above it ("（三）加强经费
    保障。") is a section, and its siblings ("（二）强化部门协同。") are other sections, not items."""
    from rag.answer.selection import select_sentences

    texts = [
        f"{marks[0]}强化部门协同。",
        f"{marks[1]}加强经费保障。",
        "县财政安排资金860万元，重点用于监控和校车。",
    ]
    passages = [_passage("".join(texts), "c1")]
    starts = [0, len(texts[0]), len(texts[0]) + len(texts[1])]
    scores = [0.1, 0.5, 1.0]
    sentences = [_sentence(t, 0, start, score) for t, start, score in zip(texts, starts, scores, strict=True)]
    chosen = [s.text for s in select_sentences(sentences, passages, wants_list=True)]
    assert chosen[0] == texts[2]
    assert texts[0] not in chosen


@pytest.mark.parametrize("comma", ["，", ","])
def test_a_passage_earns_its_citation_with_a_term_the_lead_lacks(comma: str) -> None:
    """Another passage that only repeats the lead's words ("燃气安全检查要加强") is not cited; one
    that brings a word of the question the lead lacks (餐饮) is, with its other strong sentences."""
    from rag.answer.selection import select_sentences

    texts = [
        f"各部门要加强燃气安全检查{comma}不留死角。",
        f"燃气安全检查要加强{comma}要常态化。",
        f"餐饮摊点的燃气检查{comma}由城管部门负责。",
        f"燃气检查发现的问题{comma}要限期整改。",
    ]
    passages = [_passage(texts[0], "c1"), _passage(texts[1], "c2"), _passage("".join(texts[2:]), "c3")]
    sentences = [
        _sentence(texts[0], 0, 0, 1.0),
        _sentence(texts[1], 1, 0, 0.8),
        _sentence(texts[2], 2, 0, 0.75),
        _sentence(texts[3], 2, len(texts[2]), 0.7),
    ]
    terms = ["燃气", "检查", "餐饮"]
    chosen = [s.text for s in select_sentences(sentences, passages, terms=terms)]
    assert chosen == [texts[0], texts[2], texts[3]]
    every = [s.text for s in select_sentences(sentences, passages)]
    assert texts[1] in every, "without the question's words every strong sentence supports"
    tie = [_sentence(texts[0], 0, 0, 1.0), _sentence(texts[1], 1, 0, 0.97)]
    assert texts[1] in [s.text for s in select_sentences(tie, passages, terms=terms)], "a near tie is kept"


@pytest.mark.parametrize("quote", [("“", "”"), ('"', '"')])
def test_a_sentence_holding_the_quoted_phrase_counts_more(quote: tuple[str, str]) -> None:
    """ "用哪三个“铁”来概括抓安全的方法": the sentence with 铁 answers, though another shares more
    of the question's other words."""
    from rag.answer.scoring import quoted_phrases, score_sentences

    question = f"用哪三个{quote[0]}铁{quote[1]}来概括抓安全的方法?"
    assert quoted_phrases(question) == ["铁"]
    texts = ["落实“三个避让”,这是抓安全的好方法。", "用铁的手腕抓安全,用铁的纪律管安全。"]
    passages = [_passage("".join(texts))]
    tokens = tokenize(question)
    idf = {t: 1.0 for t in tokens}
    plain = {s.text: s.score for s in score_sentences(tokens, passages, idf)}
    weighed = {
        s.text: s.score for s in score_sentences(tokens, passages, idf, quoted=quoted_phrases(question))
    }
    assert weighed[texts[1]] > plain[texts[1]] and weighed[texts[0]] == plain[texts[0]]


@pytest.mark.parametrize("mark", ["三、", "（三）", "(三)"])
def test_a_lone_heading_is_neither_a_list_nor_a_supporter(mark: str) -> None:
    """For "要做好哪几项工作" a heading of another passage ("三、深化煤矿安全大检查工作。") with no
    sibling there is no list, and quoted alone it says nothing but costs a citation."""
    from rag.answer.selection import select_sentences

    texts = ["煤矿企业要抓紧制定大检查的工作方案。", f"{mark}深化煤矿安全大检查工作。"]
    passages = [_passage(texts[0], "c1"), _passage(texts[1], "c2")]
    sentences = [_sentence(texts[0], 0, 0, 1.0), _sentence(texts[1], 1, 0, 0.95)]
    chosen = [
        s.text for s in select_sentences(sentences, passages, wants_list=True, terms=["煤矿", "大检查"])
    ]
    assert chosen == [texts[0]]


@pytest.mark.parametrize("comma", ["，", ","])
def test_a_sentence_referring_back_to_the_lead_carries_it_on(comma: str) -> None:
    """ "后来是怎么解决的": the accident the question names leads; "针对这一问题，交通部门……" after it
    is the answer, however few of the question's words it has."""
    from rag.answer.selection import select_sentences

    texts = [
        f"此路段发生过多起事故{comma}群众称之为“夺命桥”。",
        f"针对这一问题{comma}交通部门将下穿改为上跨。",
    ]
    passages = [_passage("".join(texts))]
    sentences = [_sentence(texts[0], 0, 0, 1.0), _sentence(texts[1], 0, len(texts[0]), 0.05)]
    assert [s.text for s in select_sentences(sentences, passages)] == texts


def test_remembered_tokens_follow_newly_taught_terms() -> None:
    """tokenize remembers short texts; a term taught afterwards must still cut them anew."""
    from ingest.index.tokenize import add_terms

    text = "要落实“七查七改”机制。"
    before = tokenize(text)
    assert tokenize(text) == before and tokenize(text) is not tokenize(text)
    add_terms(["七查七改"])
    assert "七查七改" in tokenize(text) and "七查七改" not in before


def test_teaching_a_dictionary_word_leaves_longer_words_whole() -> None:
    """A speech that quotes “消防” must not cut 消防站 of every later question into 消防/站: the
    answerability check then finds "消防" in 消防车 and answers a question about something else."""
    from ingest.index.tokenize import add_terms, is_word

    assert is_word("消防") and "消防站" in tokenize("企业的消防站要建多大规模？")
    add_terms(["消防", "四查四改"])
    assert "消防站" in tokenize("企业的消防站要建多大规模？")
    assert "四查四改" in tokenize("要落实“四查四改”机制。")


def _one_passage(texts: list[str], scores: list[float]) -> tuple[list[Passage], list[Sentence]]:
    """One passage of these sentences, each scored as given."""
    starts = [sum(len(t) for t in texts[:i]) for i in range(len(texts))]
    sentences = [_sentence(t, 0, start, score) for t, start, score in zip(texts, starts, scores, strict=True)]
    return [_passage("".join(texts), "c1")], sentences


@pytest.mark.parametrize(("period", "comma"), [("。", "，"), (".", ",")])
def test_a_bare_item_lead_brings_its_body_before_its_siblings(period: str, comma: str) -> None:
    """ "截止时间是哪天？要检查哪些部位？": the lead is a bare item heading ("1.汛前全面排查。"); its body
    holds the answer, and the sibling headings a list question also brings do not replace it."""
    from rag.answer.selection import select_sentences

    texts = [
        f"1.汛前全面排查{period}",
        f"5月31日前{comma}要对排洪系统、坝体浸润线逐一检查{period}",
        f"2.严控下游风险{period}",
        f"3.规范闭库管理{period}",
    ]
    passages, sentences = _one_passage(texts, [1.0, 0.1, 0.4, 0.3])
    chosen = [s.text for s in select_sentences(sentences, passages, wants_list=True)]
    assert chosen[:2] == texts[:2], chosen
    assert texts[2] in chosen, "the siblings are still there"


@pytest.mark.parametrize("period", ["。", "."])
def test_bare_items_of_a_how_answer_bring_their_bodies(period: str) -> None:
    """ "渡口应该怎么管？": "要抓住人、船、码头三个要素。一是管好人。……二是管好船。……" — the bare items
    name the measures, their bodies say them; a list question takes the items alone."""
    from rag.answer.selection import select_sentences

    texts = [
        f"渡口要抓住人、船、码头三个要素{period}",
        f"一是管好人{period}",
        f"渡工必须持证上岗{period}",
        f"二是管好船{period}",
        f"客渡船严禁超载{period}",
    ]
    passages, sentences = _one_passage(texts, [1.0] + [0.1] * (len(texts) - 1))
    assert [s.text for s in select_sentences(sentences, passages)] == texts
    listed = [s.text for s in select_sentences(sentences, passages, wants_list=True)]
    assert listed[:3] == [texts[0], texts[1], texts[3]]
