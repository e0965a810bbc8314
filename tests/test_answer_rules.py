"""Unit tests of the answer rules added for issue 12/13 (each on full- and half-width text)."""

from __future__ import annotations

import pytest

from ingest.index.tokenize import is_word, tokenize
from rag.answer.answerability import named_documents, ratio_about, scope_matches, states_value
from rag.answer.checks import question_parts, unmatched_quotes
from rag.answer.continuation import Following, continuation, is_first_item, item_number, later_items
from rag.types import Passage


@pytest.mark.parametrize("mark", ["？", "?"])
def test_scope_named_in_question_must_be_in_text(mark: str) -> None:
    question = f"我国每年有多少人死于溺水{mark}"
    assert not scope_matches(question, "今年暑期全县发生学生溺水死亡事故2起、死亡3人。")
    assert not scope_matches(question, "今年暑期全县发生学生溺水死亡事故2起,死亡3人.")
    assert scope_matches(question, "全国每年因溺水死亡的人数，约有数万人。")
    assert scope_matches(question, "全国每年因溺水死亡的人数,约有数万人.")


@pytest.mark.parametrize("mark", ["？", "?"])
def test_scope_not_named_always_matches(mark: str) -> None:
    assert scope_matches(f"全县有多少辆校车{mark}", "全县现有校车148辆。")


@pytest.mark.parametrize(
    "text",
    [
        "一是加强领导。",
        "（一）加强领导。",
        "(一)加强领导.",
        "(1)加强领导.",
        "（１）加强领导。",
        "1.加强领导.",
        "１．加强领导。",
    ],
)
def test_first_items(text: str) -> None:
    assert is_first_item(text)


@pytest.mark.parametrize(
    "text", ["二是加强领导。", "（二）严防溺水。", "(二)严防溺水.", "2.加强领导.", "12.加强领导."]
)
def test_later_items_are_not_first(text: str) -> None:
    assert not is_first_item(text)


@pytest.mark.parametrize(("semicolon", "open_", "close"), [("；", "（", "）"), (";", "(", ")")])
def test_semicolon_lead_does_not_run_into_the_next_section(semicolon: str, open_: str, close: str) -> None:
    lead = f"物防方面，学校要配齐防护棍等器械{semicolon}"
    following = [
        Following(1, 0, 9, f"{open_}二{close}严防学生溺水事故。"),
        Following(1, 10, 19, f"{open_}三{close}保障校园食品安全。"),
    ]
    assert continuation(lead, following) == []


@pytest.mark.parametrize(("colon", "open_", "close"), [("：", "（", "）"), (":", "(", ")")])
def test_list_lead_still_takes_its_items(colon: str, open_: str, close: str) -> None:
    lead = f"重点抓好以下工作{colon}"
    following = [
        Following(0, 10, 19, f"{open_}一{close}加强领导。"),
        Following(0, 20, 29, f"{open_}二{close}压实责任。"),
    ]
    assert [f.text for f in continuation(lead, following)] == [following[0].text, following[1].text]


@pytest.mark.parametrize(
    ("open_", "close", "comma", "period"), [("（", "）", "，", "。"), ("(", ")", ",", ".")]
)
def test_a_heading_body_is_taken_when_the_next_section_follows_it(
    open_: str, close: str, comma: str, period: str
) -> None:
    lead = f"{open_}五{close}推进智慧工地建设{period}"
    following = [
        Following(0, 12, 40, f"在建项目要全部安装塔吊安全监控系统{comma}实施自动化监测{period}"),
        Following(1, 0, 12, f"三、强化保障{period}"),  # the next chunk opens the next section
    ]
    assert [f.text for f in continuation(lead, following)] == [following[0].text]


@pytest.mark.parametrize(("mark", "comma", "colon"), [("？", "，", "："), ("?", ",", ":")])
def test_a_ratio_must_be_said_of_what_the_question_asks_about(mark: str, comma: str, colon: str) -> None:
    question = f"专职安全管理人员按什么比例配备{mark}"
    beside = f"项目负责人带班时间不得少于施工时间的80%{comma}专职安全管理人员必须足额配备。"
    assert not ratio_about(question, beside, ["专职", "管理人员", "配备"])
    subject_before = f"高处坠落事故5起{comma}占事故总数的55.6%。"
    assert ratio_about(f"高处坠落占比多少{mark}", subject_before, ["高处", "坠落"])
    one_to_two = f"按照1{colon}2的比例培养村党组织书记后备人选。"
    assert ratio_about(f"书记后备人选按什么比例培养{mark}", one_to_two, ["书记", "后备"])
    assert ratio_about(f"有多少人{mark}", beside, ["人"]), "only ratio questions are checked"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("二是加强领导。", 2),
        ("（三）严防溺水。", 3),
        ("(3)严防溺水.", 3),
        ("12.加强领导.", 12),
        ("１２．加强领导。", 12),
        ("第十一，加强领导。", 11),
        ("二十要压实责任。", 20),
        ("加强领导。", None),
    ],
)
def test_item_numbers(text: str, number: int | None) -> None:
    assert item_number(text) == number


@pytest.mark.parametrize(("comma", "period"), [("，", "。"), (",", ".")])
def test_later_items_of_an_inline_list(comma: str, period: str) -> None:
    lead = f"一是气候异常{comma}降雨量可能偏多一到二成{period}"
    following = [
        Following(0, 20, 30, f"据气象局预测{period}"),
        Following(0, 30, 40, f"二是工程隐患依然存在{period}"),
        Following(0, 40, 50, f"三是城市内涝风险上升{period}"),
        Following(0, 50, 60, f"二是做好工作准备{period}"),  # numbered out of turn: another list
    ]
    assert [f.text[:2] for f in later_items(lead, following)] == ["二是", "三是"]
    # Outline sections are not items of one list: （三） does not follow （二） as a reason.
    assert (
        later_items(
            f"（二）严格落实综合监管责任{period}", [Following(0, 20, 30, f"（三）严格落实主体责任{period}")]
        )
        == []
    )


@pytest.mark.parametrize("marks", [("？", "“", "”"), ("?", '"', '"')])
def test_unmatched_quotes_takes_passed_slogans(marks: tuple[str, str, str]) -> None:
    mark, left, right = marks
    passage = Passage(chunk_id="c", text="要落实“三个清单”。", speech_title="讲话", source="a.txt", score=1.0)
    question = f"{left}五个一批{right}是什么{mark}"
    assert unmatched_quotes(question, [passage]) == ["五个一批"]
    assert unmatched_quotes(question, [passage], set()) == ["五个一批"]  # the quote is still checked
    assert question_parts(f"有多少台塔吊{mark}证书有效期几年{mark}") == ["有多少台塔吊", "证书有效期几年"]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_documents_named_by_title(mark: str) -> None:
    assert named_documents(f"《防洪法》规定的防汛指挥机构是怎么设立的{mark}") == ["防洪法"]
    assert named_documents(f"〈校车安全管理条例〉要求配备哪些设备{mark}") == ["校车安全管理条例"]
    assert named_documents(f"防汛指挥机构是怎么设立的{mark}") == []


@pytest.mark.parametrize(("mark", "comma", "period"), [("？", "，", "。"), ("?", ",", ".")])
def test_a_fine_is_answered_by_a_sum_of_money(mark: str, comma: str, period: str) -> None:
    question = f"骑电动车不戴头盔要罚款多少{mark}"
    assert not states_value(question, f"年底头盔佩戴率要达到95%以上{comma}安全带使用率达到90%{period}")
    assert states_value(question, f"对不戴头盔的{comma}一律处以50元罚款{period}")
    assert states_value(f"不戴头盔会被罚多少钱{mark}", f"处20元以上50元以下罚款{period}")


@pytest.mark.parametrize(
    ("mark", "comma", "period", "colon"), [("？", "，", "。", "："), ("?", ",", ".", ":")]
)
def test_a_ratio_is_answered_by_a_share_or_one_per_n(mark: str, comma: str, period: str, colon: str) -> None:
    question = f"保安员和学生人数的配备比例是多少{mark}"
    assert not states_value(question, f"寄宿制学校至少配备3名保安{comma}全县共有保安412名{period}")
    assert states_value(question, f"每500名学生配1名保安{period}")
    assert states_value(question, f"保安与学生的比例不低于1{colon}500{period}")
    assert states_value(f"占多大比例{mark}", f"农村道路死亡事故占全部的62％{period}")
    assert states_value(f"占多大比例{mark}", f"农村道路死亡事故占全部的62%{period}")


@pytest.mark.parametrize(("mark", "comma", "period"), [("？", "，", "。"), ("?", ",", ".")])
def test_an_amount_per_unit_is_answered_by_a_rate(mark: str, comma: str, period: str) -> None:
    question = f"网格员每个月能领多少补贴{mark}"
    assert not states_value(question, f"今年安排网格化管理经费300万元{comma}主要用于网格员补贴{period}")
    assert states_value(question, f"网格员补贴按每人每月800元发放{period}")
    assert states_value(question, f"网格员月均补贴800元{period}")
    assert states_value(f"每台泵车一小时能抽多少立方米水{mark}", f"每台泵车每小时抽排300立方米{period}")
    assert not states_value(f"一台泵车每小时能抽多少立方米水{mark}", f"泵车要实行24小时备勤{period}")
    # A date asked of every year is not an amount per year.
    assert states_value(f"安全生产月是每年几月{mark}", f"每年6月是全国安全生产月{period}")


@pytest.mark.parametrize(("mark", "comma", "period"), [("？", "，", "。"), ("?", ",", ".")])
def test_a_dimension_is_answered_by_a_length_of_that_dimension(mark: str, comma: str, period: str) -> None:
    question = f"排洪沟要挖多深{mark}"
    assert not states_value(question, f"全县今年新挖排洪沟12公里{comma}年底前完工{period}")
    assert states_value(question, f"排洪沟深度不少于1.5米{period}")
    assert states_value(f"围挡的高度是多少米{mark}", f"施工围挡高度不得低于2.5米{period}")
    assert not states_value(f"围挡的高度是多少米{mark}", f"围挡距离基坑边不少于2米{period}")
    # ... and a distance ("隔多远") by a length, not by a count beside it ("零售点1340个").
    question = f"零售点离加油站得隔多远{mark}"
    assert not states_value(question, f"今年拟设零售点1340个{comma}比去年增加86个{period}")
    assert states_value(question, f"零售点与加油站的距离不得小于50米{period}")
    assert states_value(f"两个库区的间距是多少{mark}", f"库区之间相距不少于1.5公里{period}")
    assert not states_value(f"两个库区的间距是多少{mark}", f"全市共有库区12个{period}")


@pytest.mark.parametrize("mark", ["？", "?"])
def test_segmentation_fragments_are_not_words(mark: str) -> None:
    tokens = tokenize(f"全市有多少家危化品企业{mark}")
    assert "市有" in tokens or "全市" in tokens
    assert not is_word("市有")
    assert not is_word("前要")
    assert is_word("驾驶证")
    assert is_word("吊销")
