"""How-many / how-far / when questions (issue 12) are answered by a sentence that states such a value;
how-come questions ("怎么老是…") ask why; an answer must hold what the question is about. Every rule
on full-width and half-width punctuation alike. No model, no Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_answerability import _passage, both


def _composer(text: str, tmp_path: Path, filler: str = "本篇讲第{}件事，要抓好落实。"):  # type: ignore[no-untyped-def]
    from ingest.index.keywords import KeywordDoc, KeywordIndex
    from rag.answer.extractive import AnswerComposer
    from rag.config import Settings
    from tests.test_answerability import _Vectors
    from tests.test_why_and_when import _NoOpenings

    index = KeywordIndex(tmp_path / "k.sqlite")
    others = [KeywordDoc(f"f{i}", filler.format(i), speech_id=f"f{i}") for i in range(10)]
    index.sync([KeywordDoc("c1", text, speech_id="s1"), *others])
    return AnswerComposer(_Vectors({}), Settings(), keywords=index, store=_NoOpenings())  # type: ignore[arg-type]


def _best(composer, question: str, text: str) -> str:  # type: ignore[no-untyped-def]
    sentences, _ = composer.sentence_scores(question, question, [_passage(text)])
    return max(sentences, key=lambda s: s.score).text[:4]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_count_question_leads_with_the_sentence_that_states_it(fullwidth: bool, tmp_path: Path) -> None:
    """ "那起三轮车翻车死伤了多少人" is answered by the account of the crash ("造成5人死亡"), not by the
    sentence that repeats its words ("把去年柳堡镇三轮车翻车的案例讲透"): without the toll the answer
    was refused."""
    text = (
        "开镰前，每个村都要召开一次安全会，把去年柳堡镇三轮车翻车的案例讲透。"
        "2025年6月9日，一辆农用三轮车行驶到柳堡村时刹车失灵，翻进了水渠，造成5人死亡、6人受伤。"
    )
    if not fullwidth:
        text = both(text)[1]
    mark = "？" if fullwidth else "?"
    composer = _composer(text, tmp_path)
    comma = "，" if fullwidth else ","
    assert _best(composer, f"柳堡镇那起三轮车翻车{comma}死伤了多少人{mark}", text) == "2025"
    assert _best(composer, f"柳堡镇三轮车翻车的案例要怎么讲{mark}", text)[:3] == "开镰前"


@pytest.mark.parametrize("mark", ["？", "?"])
def test_how_come_asks_why_not_how(mark: str) -> None:
    """ "怎么老是禁不住" asks for causes, as "为什么" does; read as "怎么 (how)" it was answered with the
    measures ("严禁用货车、三轮车拉人"). "怎么管" and "怎么样" are unchanged."""
    from rag.answer.scoring import ASKED_BACK, ASKS_HOW, ASKS_WHY

    how_come = ("三轮车拉人怎么老是禁不住", "老旧小区的隐患咋总是拖着不整改", "隐患怎么一直改不完")
    for question in (f"{q}{mark}" for q in how_come):
        assert ASKS_WHY.search(question) and not ASKS_HOW.search(question), question
    assert ASKS_HOW.search(f"三轮车拉人怎么管{mark}") and not ASKS_WHY.search(f"三轮车拉人怎么管{mark}")
    assert not ASKS_WHY.search(f"今年的整治效果怎么样{mark}")
    assert ASKED_BACK.search(f"三轮车违法载人怎么老是禁不住{mark}")


@pytest.mark.parametrize(("comma", "period"), [("，", "。"), (",", ".")])
def test_a_word_the_question_abbreviates_is_held_by_its_full_form(comma: str, period: str) -> None:
    """ "烟花厂最晚哪天之前必须停产" is answered by "……前停止生产": 停产 abbreviates 停止生产, so the
    value sentence holds the question's words and the answer is not refused. Characters that merely
    stand in order across words ("起火燃烧" for 火烧, "运输和渔业船" for 运输船) are no full form."""
    from rag.answer.answerability import abbreviated_in, missing_share, missing_terms

    text = f"全市烟花爆竹生产企业一律在1月25日前停止生产{comma}春节后复工须验收合格{period}"
    assert missing_terms(["停产"], text) == [] and missing_share({"烟花": 2.5, "停产": 3.4}, text) == 0.0
    assert missing_terms(["停业"], text) == ["停业"]
    full_forms = [("渔船", "渔业船舶"), ("危化品", "危险化学品"), ("电动车", "电动自行车")]
    for word, full in full_forms:
        assert abbreviated_in(word, f"加强{full}管理{period}"), word
    in_order = [("火烧", "起火燃烧"), ("每个", "每一个"), ("运输船", "运输和渔业船"), ("在校", "在全县校园")]
    for word, chars in in_order:
        assert not abbreviated_in(word, f"{chars}{comma}要引起重视{period}"), word


@pytest.mark.parametrize("fullwidth", [True, False])
def test_an_answer_holding_none_of_the_question_s_words_is_refused(fullwidth: bool, tmp_path: Path) -> None:
    """ "孔明灯能不能放？有什么管理措施？": the second part has no words of its own and asks about the
    first's subject, which no passage names; one sentence sharing only "管理措施" made an answer. A lone
    missing word beside words the passage has ("养老院" for 养老机构) is still a paraphrase."""
    from rag.answer.answerability import lacks_focus

    text = "要加强烟花爆竹零售点监管，严格落实各项管理措施。养老机构要严格落实消防管理措施。"
    if not fullwidth:
        text = both(text)[1]
    mark = "？" if fullwidth else "?"
    composer = _composer(text, tmp_path, "本篇讲第{}件事，要抓好管理。")  # 管理: every speech's word
    assert composer.compose(
        f"孔明灯能不能放{mark}有什么管理措施{mark}",
        f"孔明灯能不能放{mark}有什么管理措施{mark}",
        [_passage(text)],
    ).refused
    assert not composer.compose(
        f"养老院有什么消防管理措施{mark}", f"养老院有什么消防管理措施{mark}", [_passage(text)]
    ).refused
    assert lacks_focus({"孔明灯": 5.0}, text, 0.5)
    assert not lacks_focus({"烟感": 5.0, "报警器": 3.0}, "要安装独立式感烟火灾探测报警器", 0.5)


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_time_of_day_answers_when(fullwidth: bool) -> None:
    """ "在什么时间段巡查？" is answered by clock times ("每晚22时至次日6时"); "时间段" asks, it names
    nothing the passage must hold. "第一时间" and "时期" are no time of day."""
    from rag.answer.answerability import content_tokens, states_value

    comma, mark = ("，", "？") if fullwidth else (",", "?")
    sentence = f"一是落实夜间巡查制度{comma}每晚22时至次日6时至少巡查2次。"
    assert states_value(f"宾馆在什么时间段要巡查{mark}", sentence)
    assert states_value(f"宾馆什么时候要巡查{mark}", f"每天晚上10点以后{comma}值班人员要巡查一遍。")
    assert not states_value(f"宾馆什么时候要巡查{mark}", f"发现火情要第一时间报告{comma}不得延误。")
    assert not states_value(f"宾馆什么时候要巡查{mark}", f"节日期间{comma}要加强巡查。")
    assert content_tokens(["时间段", "时段", "巡查"]) == ["巡查"]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_part_that_names_nothing_brings_no_sentence_about_something_else(
    fullwidth: bool, tmp_path: Path
) -> None:
    """ "宾馆晚上要巡查几次？在什么时间段？": the second part asks about the first's subject; the best
    time sentence for its own words (a fishing ban "从5月1日12时开始") is not quoted."""
    from ingest.index.keywords import KeywordDoc, KeywordIndex
    from rag.answer.extractive import AnswerComposer
    from rag.config import Settings
    from tests.test_answerability import _Vectors
    from tests.test_why_and_when import _NoOpenings

    patrol = "宾馆要落实夜间巡查制度，每晚22时至次日6时至少巡查2次。"
    ban = "今年伏季休渔从5月1日12时开始，到9月16日12时结束，时间长达4个半月。"
    if not fullwidth:
        patrol, ban = both(patrol)[1], both(ban)[1]
    index = KeywordIndex(tmp_path / "k.sqlite")
    filler = [KeywordDoc(f"f{i}", f"本篇讲第{i}件事，要抓好落实。", speech_id=f"f{i}") for i in range(10)]
    index.sync([KeywordDoc("c1", patrol, speech_id="s1"), KeywordDoc("c2", ban, speech_id="s2"), *filler])
    vectors = _Vectors({patrol: 0.95, ban: 0.5})
    composer = AnswerComposer(vectors, Settings(), keywords=index, store=_NoOpenings())  # type: ignore[arg-type]
    mark = "？" if fullwidth else "?"
    question = f"宾馆晚上要巡查几次{mark}在什么时间段{mark}"
    answer = composer.compose(question, question, [_passage(patrol), _passage(ban, "c2", "s2")])
    assert not answer.refused and "22时" in answer.text and "休渔" not in answer.text, answer.text


@pytest.mark.parametrize("quotes", [("“", "”"), ('"', '"')])
def test_a_count_of_items_names_nothing(quotes: tuple[str, str]) -> None:
    """ "用哪三个“铁”来抓安全？": "三个" counts what is asked for; in a small index it is a rare word, and
    as the question's only specific word, missing from the answer, it refused the answer."""
    from ingest.index.tokenize import tokenize
    from rag.answer.answerability import content_tokens

    open_, close = quotes
    assert "三个" not in content_tokens(tokenize(f"用哪三个{open_}铁{close}来抓安全?"))
    assert content_tokens(["两项", "几条", "五种", "三个必须", "三个"]) == ["三个必须"]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_closeness_in_meaning_does_not_vouch_for_things_no_speech_names(
    fullwidth: bool, tmp_path: Path
) -> None:
    """A passage close in meaning answers a colloquial question whose words it lacks ("楼里着火" for
    火情). It does not answer one naming three things it lacks, two of which no speech names
    ("锂电池储能电站" beside a fire-safety passage): that question is about something else. Things
    other speeches name may still be renamed by a paraphrase."""
    from dataclasses import replace

    from ingest.index.tokenize import names_a_thing

    text = "高层建筑要落实消防设施维护保养，发现火情要第一时间扑救，组织人员疏散。"
    if not fullwidth:
        text = both(text)[1]
    comma, mark = ("，", "？") if fullwidth else (",", "?")
    composer = _composer(text, tmp_path, "本篇讲第{}件事，要管好酒店、商场和仓库。")

    def answered(question: str, similarity: float) -> bool:
        passage = replace(_passage(text), similarity=similarity)
        return not composer.compose(question, question, [passage]).refused

    colloquial = f"万一楼里着火{comma}一般要怎么弄{mark}"
    assert answered(colloquial, 0.90) and not answered(colloquial, 0.50)
    assert not answered(f"锂电池储能电站起火有哪些扑救措施{mark}", 0.90)
    assert answered(f"酒店和商场的仓库着火要怎么扑救{mark}", 0.90)
    assert all(names_a_thing(w) for w in ("锂电池", "集装箱", "液化气罐", "骑手"))
    assert not any(names_a_thing(w) for w in ("干活", "明明", "冬天", "着火", "外面"))


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_how_question_is_answered_from_the_measures_not_the_situation(
    fullwidth: bool, tmp_path: Path
) -> None:
    """ "鉴定机构太少的问题怎么解决？": the speech's situation section ("二、正视问题") describes the
    problem in the question's own words; the measures section answers it. "降雨预计会怎样" asks what
    will happen, not how to act."""
    from dataclasses import replace

    from rag.answer.scoring import ASKS_HOW

    comma, mark = ("，", "？") if fullwidth else (",", "?")
    problem = f"全县具备房屋鉴定能力的机构只有2家{comma}排队等候时间普遍在1个月以上。"
    measure = f"针对鉴定力量不足的问题{comma}县住建局要通过购买服务引进3家鉴定机构。"
    passages = [
        replace(_passage(problem, "c1"), heading_path="二、正视问题 > （三）鉴定力量不足"),
        replace(_passage(measure, "c2"), heading_path="三、突出重点 > （七）强化技术支撑"),
    ]
    composer = _composer(problem + measure, tmp_path)
    question = f"房屋鉴定机构太少{comma}排队太久的问题怎么解决{mark}"
    sentences, _ = composer.sentence_scores(question, question, passages)
    assert max(sentences, key=lambda s: s.score).text.startswith("针对")
    assert ASKS_HOW.search(f"今年的防汛工作怎样开展{mark}")
    assert not ASKS_HOW.search(f"今年主汛期的降雨预计会怎样{mark}")
