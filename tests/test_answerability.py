"""Answerability, term definitions and list continuation (issue 12): every rule on full-width
and half-width punctuation alike. No model, no Chroma."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.index.keywords import KeywordDoc, KeywordIndex
from ingest.index.text import split_sentences
from ingest.index.tokenize import tokenize
from rag.answer.answerability import (
    asked_attribute,
    asks_value,
    concepts,
    content_tokens,
    generic_terms,
    missing_share,
    missing_terms,
    named_years,
    states_value,
)
from rag.answer.continuation import continuation, following_sentences, is_question, needs_continuation
from rag.answer.definitions import spells_out, term_parts
from rag.answer.extractive import AnswerComposer, undefined_terms
from rag.answer.scoring import Sentence, score_sentences
from rag.config import Settings
from rag.types import Passage

HALF = str.maketrans("，：；？！（）", ",:;?!()")


def both(text: str) -> list[str]:
    """The text as written with full-width punctuation, and with half-width."""
    return [text, text.translate(HALF).replace("“", '"').replace("”", '"')]


def _passage(text: str, chunk_id: str = "c1", speech_id: str = "s1") -> Passage:
    return Passage(
        chunk_id=chunk_id, text=text, speech_title="讲话", source="a.txt", score=1.0, speech_id=speech_id
    )


# ---- definitions: the mention-only note is stated only when the whole speech never spells a term out


@pytest.mark.parametrize("text", both("（二）推行“两查一改”。“两查”就是查隐患、查制度，“一改”就是限期整改。"))
def test_definition_by_parts_after_a_heading(text: str) -> None:
    assert term_parts("两查一改") == ["两查", "一改"]
    assert spells_out("两查一改", text)


@pytest.mark.parametrize(
    "text", both("市河长办要牵头开展“百日清障”专项行动，即用一百天时间集中清除河道内的违章建筑。")
)
def test_definition_after_words_between_term_and_ji(text: str) -> None:
    assert spells_out("百日清障", text)


@pytest.mark.parametrize("text", both("（二）建立“三个清单”。\n具体包括风险清单、隐患清单和责任清单。"))
def test_definition_in_the_sentence_after_a_heading(text: str) -> None:
    assert spells_out("三个清单", text)


@pytest.mark.parametrize(
    "text",
    both("施工单位要对危大工程实行“三个必到”，即方案交底必到、首次作业必到。")
    + both("“四不两直”就是不发通知、不打招呼，直奔基层、直插现场。")
    + both("全面落实“三个必须”（管行业必须管安全）要求。"),
)
def test_direct_definitions(text: str) -> None:
    term = next(t for t in ("三个必到", "四不两直", "三个必须") if t in text)
    assert spells_out(term, text)


@pytest.mark.parametrize(
    "text",
    both("重点抓三个环节：一是严防，对重点行业开展风险辨识；二是深查，对所有区域开展“拉网式”大排查；")
    + both("（二）“深查”。对所有区域、所有行业领域开展大排查。")
    + both("2.深查：对所有区域、所有行业领域开展大排查。"),
)
def test_a_list_item_labelled_by_the_term_spells_it_out(text: str) -> None:
    """The item's body after its label says what the term means; a label with no body does not."""
    assert spells_out("深查", text)
    assert not spells_out("深查", "三个环节是严防、深查、立改。二是深查。")
    assert not spells_out("深查", "要把“深查”落到实处，对所有区域开展大排查。")
    assert not spells_out("严防", "三个环节：一是严防。二是深查，对所有区域开展大排查。")


class _Shares:
    def chunk_share(self, tokens: list[str]) -> dict[str, float]:
        return {t: {"严格": 0.21, "到位": 0.14, "深查": 0.004}.get(t, 0.0) for t in tokens}


def test_a_common_word_quoted_as_a_pattern_gets_no_mention_note() -> None:
    """ "提出了哪几个“严格”？" is answered by "1.严格作业审批……2.严格现场监护……": "严格" is no slogan a
    speech defines, so no note may say it is only mentioned; a rare term still can be."""
    from rag.answer.scoring import definable

    assert definable(["严格", "四个一律", "到位", "深查"], _Shares()) == ["四个一律", "深查"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    both("刚才局长讲了一个“墨菲定理”，凡是有可能发生的一定就会发生。")
    + both("德国还有一个“海恩法则”：每一起严重事故的背后，必然有29次轻微事故。"),
)
def test_a_named_law_introduced_then_stated_is_spelled_out(text: str) -> None:
    term = "墨菲定理" if "墨菲" in text else "海恩法则"
    assert spells_out(term, text)
    assert not spells_out(term, f"大家都知道“{term}”。要把隐患当成事故来对待，绝不放过。")


@pytest.mark.parametrize("text", both("严格落实“四个一律”要求，对所有问题盯死看牢。要做到“四个一律”。"))
def test_a_mention_is_not_a_definition(text: str) -> None:
    assert not spells_out("四个一律", text)


@pytest.mark.parametrize("fullwidth", [True, False])
def test_mention_note_looks_at_the_whole_speech(fullwidth: bool) -> None:
    heading, body = "（一）紧盯“两客一危”。", "“两客”就是旅游包车和班线客车，“一危”就是危险货物运输车辆。"
    if not fullwidth:
        heading, body = both(heading)[1], both(body)[1]
    retrieved = [
        _passage(
            "要对全市“两客一危”企业开展全覆盖检查。"
            if fullwidth
            else '要对全市"两客一危"企业开展全覆盖检查。'
        )
    ]
    whole = {"s1": heading + body + retrieved[0].text}
    assert undefined_terms(["两客一危"], retrieved) == ["两客一危"]  # the top-k alone
    assert undefined_terms(["两客一危"], retrieved, whole.get) == []  # the speech defines it
    assert undefined_terms(["两客一危"], retrieved, {"s1": retrieved[0].text}.get) == ["两客一危"]


# ---- what the question asks for


def test_value_questions_and_the_sentences_that_answer_them() -> None:
    assert asks_value("今年以来第三方施工挖断燃气管道发生过几次？")
    assert states_value("发生过几次？", "今年以来已发生挖断燃气管道事件7起。")  # 几次 ← 7起
    assert not asks_value("农村道路交通安全整治有哪几项具体措施？")  # a list, not a value
    assert not asks_value("从几个方面部署？")
    assert asks_value("岗前安全培训不少于多少学时？")
    assert not states_value("岗前安全培训不少于多少学时？", "新入职的员工没有培训就下井作业。")
    assert not states_value("岗前安全培训不少于多少学时？", "培训时间不少于3个月。")
    assert states_value("罚款多少钱？", "处5万元以下罚款。")
    assert states_value("燃气设计规范的编号是多少？", "执行GB 50028的规定。")
    assert not states_value("燃气设计规范的编号是多少？", "管道运行超过20年。")
    assert not states_value("应急管理部是哪一年成立的？", "应急管理部门要加强值守。")
    assert states_value("应急管理部是哪一年成立的？", "应急管理部于2018年成立。")
    assert states_value("多久开一次会？", "每季度至少召开一次会议。")
    assert states_value("整改率是多少?", "整改率达到96.5%。")
    # A numeral inside a word states no value; a Chinese numeral that counts something does.
    assert not states_value("预警广播覆盖了多少个村？", "确保险情第一时间通知到有关地区。")
    assert not states_value("有多少项标准？", "要统一标准，解决一些问题。")
    assert states_value("有几个支柱产业？", "形成了三个支柱产业。")
    assert states_value("占多大比例？", "死亡事故占六成以上。")
    assert states_value("查出多少隐患？", "共检查出x条重大隐患。")
    assert named_years("2019年全国发生了多少起事故？") == ["2019"]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_list_or_a_share_asked_beside_a_value(mark: str) -> None:
    # "哪几件事" asks for a list: the sum asked beside it needs no count of 件
    asked = f"今年拨了多少专项经费，主要用在哪几件事上{mark}"
    assert states_value(asked, "县财政今年安排专项资金860万元，重点用于监控升级和校车更新。")
    # 大约 is no attribute a passage must name
    asked = f"死亡的人当中，没戴头盔的大约占多少{mark}"
    assert asked_attribute(asked) is None
    assert states_value(asked, "其中死者未佩戴安全头盔的占八成以上。")


@pytest.mark.parametrize("mark", ["？", "?"])
def test_the_attribute_a_question_asks_for(mark: str) -> None:
    assert asked_attribute(f"应急管理部的部长是谁{mark}") == "部长"
    assert asked_attribute(f"特种作业操作证的有效期是几年{mark}") == "有效期"
    assert asked_attribute(f"城镇燃气设计规范的编号是多少{mark}") == "编号"
    # Open attributes are often answered in other words (按照…规定), and verb phrases are no attribute.
    assert asked_attribute(f"燃气使用环节的监管依据是什么{mark}") is None
    assert asked_attribute(f"急弯陡坡、临水临崖的路段要优先做什么{mark}") is None
    assert asked_attribute(f"全县有多少辆校车{mark}") is None
    # A theme, a standard, a slogan or a name is named as such where a speech gives it.
    assert asked_attribute(f"全国“安全生产月”今年的主题是什么{mark}") == "主题"
    assert asked_attribute(f"校车的车身颜色有什么统一标准{mark}") == "标准"
    assert asked_attribute(f"暴雨红色预警的发布标准是什么{mark}") == "标准"
    assert asked_attribute(f"区里今年的安全目标是什么{mark}") is None


class _Vectors:
    """Cosines chosen by the test: the query is e0, a sentence is (cos, sin) of its listed cosine."""

    def __init__(self, cosines: dict[str, float]) -> None:
        self.cosines = cosines

    def embed_query(self, text: str) -> Any:
        import numpy as np

        return np.array([1.0, 0.0])

    def embed_passages(self, texts: Any) -> Any:
        import numpy as np

        return np.array([[c, (1 - c * c) ** 0.5] for c in (self.cosines[t] for t in texts)])


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_number_next_to_the_focus_needs_the_question_s_meaning(tmp_path: Path, fullwidth: bool) -> None:
    """A question about 冲锋舟 meets a sentence with a number in the asked unit about the team next
    to it. Such a loose sentence answers only when it is as close in meaning as a paraphrase; a
    sentence holding the question's words answers unless it is far off in meaning."""
    index = KeywordIndex(tmp_path / "k.sqlite")
    topics = "燃气管道 校车 危化品 脚手架 烟花爆竹 电动车 矿山 学校 港口 防汛".split()
    index.sync([KeywordDoc(f"c{i}", f"本篇讲{t}。", speech_id=f"s{i}") for i, t in enumerate(topics)])
    question = "冲锋舟一次最多可以载多少人？"
    # loose: lacks 冲锋舟 (2/3 of the specific weight); tight: holds every specific word.
    loose, tight = (
        both("组建860人的突击队，一次集结到位。")[0 if fullwidth else 1],
        "每艘冲锋舟一次最多载8人。",
    )
    settings = Settings(
        value_focus_loose_missing=0.5, value_focus_similarity=0.92, value_sentence_min_similarity=0.87
    )

    def answers(cosines: dict[str, float], text: str) -> bool:
        composer = AnswerComposer(_Vectors(cosines), settings, index, store=None)  # type: ignore[arg-type]
        return composer.states_value_about(
            question, question, [Sentence(0, 0, len(text), text, 1.0)], {0: ""}
        )

    assert not answers({loose: 0.90}, loose)
    assert answers({loose: 0.95}, loose)
    assert answers({tight: 0.90}, tight)
    assert not answers({tight: 0.80}, tight)


def test_a_supporter_from_another_speech_must_be_closer_than_the_lead(tmp_path: Path) -> None:
    from dataclasses import replace

    from rag.answer.extractive import Asked

    lead, same, near, far = "甲讲话的答案。", "甲讲话的补充。", "乙讲话更贴切的答案。", "丙讲话讲煤矿。"
    passages = [
        replace(_passage(lead, "c1", "s1"), similarity=0.90),
        replace(_passage(same, "c2", "s1"), similarity=0.50),
        replace(_passage(near, "c3", "s2"), similarity=0.93),
        replace(_passage(far, "c4", "s3"), similarity=0.85),
    ]
    chosen = [Sentence(i, 0, len(p.text), p.text, 1.0 if i == 0 else 0.7) for i, p in enumerate(passages)]
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=None, store=None)  # type: ignore[arg-type]
    asked = Asked("问题？", "问题？", [], [], set(), [])
    kept = composer.drop_other_speeches(asked, chosen, passages)
    assert [s.text for s in kept] == [lead, same, near], "same speech stays; another only if closer"

    # A follow-up's own subject, missing from the lead's passage, keeps the passage that names it.
    index = KeywordIndex(tmp_path / "k.sqlite")
    filler = [KeywordDoc(f"f{i}", f"本篇讲第{i}件事。", speech_id=f"f{i}") for i in range(10)]
    index.sync([KeywordDoc(p.chunk_id, p.text, speech_id=p.speech_id) for p in passages] + filler)
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=index, store=None)  # type: ignore[arg-type]
    follow_up = Asked("那煤矿方面呢？", "汛期排查按什么原则？ 那煤矿方面呢？", [], [], set(), [])
    kept = composer.drop_other_speeches(follow_up, chosen, passages)
    assert [s.text for s in kept] == [lead, same, near, far]


class _NoMoreChunks:
    def speech_chunks(self, speech_id: str) -> list[Any]:
        return []


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_list_that_follows_a_quoted_sentence_is_quoted_for_a_set_question(fullwidth: bool) -> None:
    items = "一是重点任务有待落实；二是长效机制有待完善；三是宣传教育有待深化。"
    text = both("创建工作取得了明显成效。当前还存在一些问题和差距。" + items)[0 if fullwidth else 1]
    passage = _passage(text)
    chosen = [Sentence(0, 0, 12, text[:12], 1.0), Sentence(0, 12, 25, text[12:25], 0.8)]
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=None, store=_NoMoreChunks())  # type: ignore[arg-type]
    answer = composer.follow_lead(list(chosen), [passage], wants_set=True)
    assert [s.text[:2] for s in answer] == ["创建", "当前", "一是", "二是", "三是"]
    assert composer.follow_lead(list(chosen), [passage], wants_set=False) == chosen


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_heading_brings_its_whole_list_when_its_first_item_is_already_quoted(fullwidth: bool) -> None:
    heading = "（二）加快老旧管网更新改造。"
    items = "1.年内完成更新改造62公里。2.竣工验收不合格的一律不得通气。3.高压管线每天至少巡查一次。"
    text = both(heading + items + "（三）加强宣传教育。")[0 if fullwidth else 1]
    passage = _passage(text)
    spans = split_sentences(text)
    first, second = (Sentence(0, s.start, s.end, text[s.start : s.end], 1.0) for s in spans[:2])
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=None, store=_NoMoreChunks())  # type: ignore[arg-type]
    answer = composer.follow_lead([first, second], [passage], wants_set=True)
    assert [s.text[:2] for s in answer] == [first.text[:2], "1.", "2.", "3."]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_lead_that_is_one_item_brings_the_later_items_for_a_set_question(fullwidth: bool) -> None:
    text = both(
        "为什么说形势更严峻？一是气候异常，降雨偏多。二是工程隐患依然存在。三是一些干部存在麻痹思想。"
    )[0 if fullwidth else 1]
    passage = _passage(text)
    spans = split_sentences(text)
    lead = Sentence(0, spans[1].start, spans[1].end, text[spans[1].start : spans[1].end], 1.0)
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=None, store=_NoMoreChunks())  # type: ignore[arg-type]
    assert [s.text[:2] for s in composer.follow_lead([lead], [passage], wants_set=True)] == [
        "一是",
        "二是",
        "三是",
    ]
    assert composer.follow_lead([lead], [passage], wants_set=False) == [lead]


def test_question_words_are_not_focus() -> None:
    tokens = content_tokens(tokenize("江宁市去年危化品领域出了几起事故、死了几个人？"))
    assert "危化品" in tokens
    assert not any("几" in t for t in tokens)
    assert "县里" not in content_tokens(["县里", "病险"])
    # a bound on the value asked (最少, 至少) qualifies it; the passage need not repeat it
    assert "最少" not in content_tokens(tokenize("有住校生的学校最少要配几个保安？"))
    assert "至少" not in content_tokens(tokenize("每年至少演练几次?"))


def test_missing_terms_count_overlapping_pieces_once() -> None:
    weights = {"有效": 1.0, "效期": 1.0, "有效期": 2.0, "特种": 1.0}
    assert missing_terms(weights, "特种作业人员必须持证上岗") == ["有效期"]
    # one word, one weight: 有效期 (2.0) is missing, 特种 (1.0) is there
    assert missing_share(weights, "特种作业人员必须持证上岗") == pytest.approx(2 / 3)
    assert missing_share({}, "anything") == 0.0


def test_a_word_cut_into_pieces_weighs_as_one_word() -> None:
    # search-mode cuts 自行车 into three pieces; summed, they would outweigh 入户 and 充电
    weights = {"电动": 4.6, "自行": 4.3, "行车": 4.3, "自行车": 4.3, "入户": 4.6, "充电": 6.2}
    assert [(head, weight) for head, _, weight in concepts(weights)] == [
        ("自行车", 4.3),
        ("电动", 4.6),
        ("入户", 4.6),
        ("充电", 6.2),
    ]
    text = "电动自行车骑乘人员要佩戴安全头盔"
    assert missing_share(weights, text) == pytest.approx(10.8 / 19.7)
    # a word whose pieces are partly there is partly missing
    assert 0 < missing_share({"自建": 6.0, "建房": 6.0, "自建房": 6.0}, "农村建房") < 1


def test_generic_vocabulary_comes_from_the_corpus(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "k.sqlite")
    topics = "燃气管道 校车 危化品 脚手架 防汛物资 烟花爆竹 电动车 矿山 学校 港口".split()
    docs = [
        KeywordDoc(f"c{i}", f"各地要落实安全责任。本篇讲{topic}。", speech_id=f"s{i}")
        for i, topic in enumerate(topics)
    ]
    index.sync(docs)
    generic = generic_terms(index, ["安全", "责任", "燃气管道", "校车"])
    assert {"安全", "责任"} <= generic
    assert not generic & {"燃气管道", "校车"}


# ---- what follows a lead: items, a heading's body, across chunks


def _following(passages: list[Passage], chunks: dict[str, tuple[str, str, dict[str, Any]]]) -> Any:
    return following_sentences(
        passages,
        0,
        passages[0].text.index("？" if "？" in passages[0].text else "?") + 1,
        lambda p: chunks.get(p.chunk_id),
    )


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_rhetorical_question_is_answered_by_the_list_after_it_across_chunks(fullwidth: bool) -> None:
    first = "为什么说燃气安全仍是突出风险？一是老旧管网问题突出。二是餐饮场所隐患反复出现。"
    second = "二是餐饮场所隐患反复出现。三是第三方施工破坏管道。（三）加强宣传教育。要进社区。"
    if not fullwidth:
        first, second = both(first)[1], both(second)[1]
    passages = [_passage(first)]
    chunks = {"c1": ("c2", second, {"source": "a.txt"})}
    lead = first[: first.index("？" if fullwidth else "?") + 1]
    assert is_question(lead) and needs_continuation(lead)
    items = continuation(lead, _following(passages, chunks))
    assert [i.text[:2] for i in items] == ["一是", "二是", "三是"]  # not past （三）, no repeats
    assert len(passages) == 2 and passages[1].chunk_id == "c2"  # the next chunk joins the answer's passages


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_heading_is_answered_by_its_body(fullwidth: bool) -> None:
    text = "（二）加强起重机械管理。要全面落实安装告知、检验检测、使用登记制度。（三）抓好防汛。"
    if not fullwidth:
        text = both(text)[1]
    lead = text[: text.index("。") + 1]
    assert needs_continuation(lead)
    following = following_sentences([_passage(text)], 0, len(lead), lambda p: None)
    body = continuation(lead, following)
    assert [b.text for b in body] == [following[0].text]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_semicolon_series_runs_to_its_full_stop(fullwidth: bool) -> None:
    text = "从事故类型看，高处坠落事故5起；物体打击事故2起；起重伤害1起、坍塌1起。另外要说明。"
    if not fullwidth:
        text = both(text)[1]
    end = text.index("；" if fullwidth else ";") + 1
    following = following_sentences([_passage(text)], 0, end, lambda p: None)
    series = continuation(text[:end], following)
    assert [s.text[:4] for s in series] == ["物体打击", "起重伤害"]


class _Openings:
    """Stands in for ChunkStore.titled_openings: (title with speaker line, first chunk) per speech."""

    def titled_openings(self, speech_ids: Any) -> dict[str, tuple[str, str]]:
        heads = {
            "flood": (
                "在全市防汛工作会议上的讲话\n临江市副市长　周建明",
                "同志们：今天召开全市防汛工作会议，分析今年汛期形势。",
            ),
            "other": ("在安全生产工作会议上的讲话", "同志们：今天召开全区安全生产工作会议。"),
        }
        return {i: heads[i] for i in speech_ids}


@pytest.mark.parametrize("mark", ["？", "?"])
def test_the_place_a_question_names_picks_the_speech_whose_speaker_line_names_it(mark: str) -> None:
    """ "今年临江防汛形势": 临江 stands only in the flood speech's speaker line, 今年/防汛/形势 in its
    opening. Those words pick that speech; its sentence that says why is the lead, not another
    meeting's "今年的形势将会更加严峻"."""
    composer = AnswerComposer(_Vectors({}), Settings(), keywords=None, store=_Openings())  # type: ignore[arg-type]
    passages = [
        _passage(f"为什么说今年的防汛形势更加严峻{mark}一是气候异常。", "c1", "flood"),
        _passage("（三）今年的形势将会更加严峻。", "c2", "other"),
    ]
    question = f"为什么说今年临江防汛形势更严峻{mark}"
    tokens = tokenize(question)
    idf = dict.fromkeys(tokens, 1.0)
    scored = score_sentences(tokens, passages, idf, occasions=composer.occasions(passages))
    best = max(scored, key=lambda s: s.score)
    assert best.passage == 0 and best.text.startswith("为什么说")


@pytest.mark.parametrize("mark", ["，", ","])
def test_a_compound_question_about_a_term_gets_its_definition(mark: str) -> None:
    """ "“四不两直”是哪些做法?今年要占多少?": the share sentence wins the lead; the definition is added."""
    from rag.answer.scoring import definitions

    share = Sentence(0, 40, 80, "监督检查中“四不两直”方式要占到一半以上。", 0.6)
    defining = Sentence(0, 10, 40, f"“四不两直”就是不发通知{mark}不打招呼{mark}直奔基层。", 0.2)
    heading = Sentence(0, 0, 10, "（三）推行“四不两直”检查。", 0.3)
    assert definitions(["四不两直"], [share, defining, heading], [share]) == [defining]
    assert definitions(["四不两直"], [share, defining], [share, defining]) == []
    assert definitions([], [share, defining], [share]) == []


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_how_question_prefers_what_must_be_done_to_a_figure(mark: str) -> None:
    from rag.answer.scoring import ASKS_HOW, DIRECTIVE_BONUS

    question = f"地质灾害隐患点平时怎么巡查{mark}"
    assert ASKS_HOW.search(question)
    assert not ASKS_HOW.search(f"这项制度在全市执行得怎么样{mark}")  # how it went, not how to
    figure = "全市共有地质灾害隐患点212处。"
    measure = "对每个隐患点都要落实群测群防员，坚持雨中巡查。"
    passages = [_passage(figure + measure)]
    tokens = ["地质灾害", "隐患点", "巡查"]
    idf = {"地质灾害": 1.0, "隐患点": 1.0, "巡查": 0.9}
    plain = score_sentences(tokens, passages, idf)
    assert max(plain, key=lambda s: s.score).text == figure
    directed = score_sentences(tokens, passages, idf, directive_bonus=DIRECTIVE_BONUS)
    assert max(directed, key=lambda s: s.score).text == measure
