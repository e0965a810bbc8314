"""A slogan spelled out part by part, on speeches nobody tuned for (issue 12): every part is quoted,
and a slogan of bare numerals (“一三五”) is recognised as defined. Full-width and half-width alike."""

from __future__ import annotations

import pytest

from rag.answer.continuation import continuation, following_sentences
from rag.answer.definitions import spells_out, term_parts
from tests.test_answerability import _passage, both

DEFINED = (
    "（二）落实“一三五”响应机制。“一”就是1分钟内报告；“三”就是30分钟内赶到现场；"
    "“五”就是50分钟内到达增援。（三）抓好宣传。"
)


@pytest.mark.parametrize("text", both(DEFINED))
def test_a_heading_body_that_is_a_semicolon_series_is_quoted_to_its_full_stop(text: str) -> None:
    """Two body sentences were quoted after a heading, so the third part of the slogan was cut off."""
    lead = text[: text.index("。") + 1]
    following = following_sentences([_passage(text)], 0, len(lead), lambda p: None)
    assert [f.text.lstrip('“"')[0] for f in continuation(lead, following)] == ["一", "三", "五"]


@pytest.mark.parametrize("text", both(DEFINED))
def test_a_slogan_of_numerals_is_spelled_out_by_its_quoted_numerals(text: str) -> None:
    assert term_parts("一三五") == ["一", "三", "五"] and term_parts("631") == ["6", "3", "1"]
    assert spells_out("一三五", text)
    # Bare numerals are everywhere ("一是…"): only a quoted numeral names a part.
    assert not spells_out("一三五", "落实“一三五”响应机制。一是加强领导，二是强化保障，三是严格考核。")


@pytest.mark.parametrize(
    ("term", "text", "defined"),
    [
        ("两个清单", "我们讲的“两个清单”，一个是问题清单，一个是责任清单。", True),
        ("三道防线", "构筑“三道防线”——第一道防线是监测预警，第二道是工程拦挡。", True),
        ("631", "落实“631”机制。“631”指6小时预警、3小时转移、1小时复核。", True),
        ("双盯双查", "开展“双盯双查”，一方面盯人盯船，另一方面查证查隐患。", True),
        ("双盯双查", "推行“双盯双查”。“双盯”是指盯住渔船、盯住夜间；“双查”是指查值班制度、查航行灯。", True),
        ("头顶库", "12座尾矿库中，有3座属于“头顶库”，下游1公里范围内有村庄、学校或者省道。", True),
        ("头顶库", "下游1公里内有村庄的尾矿库，我们称之为“头顶库”。", True),
        ("头顶库", "有3座属于“头顶库”。3座“头顶库”要在9月底前完成升级。", False),
        (
            "三张网",
            "（一）织密“三张网”。第一张是人防网，以护林员为主体；第二张是技防网，依托视频监控。",
            True,
        ),
        ("三张网", "（一）织密“三张网”。这项工作要在年底前完成。", False),
        (
            "三不动火",
            "严格落实“三不动火”制度。这是血的教训，没有审批不动火、没有监护不动火、没有措施不动火。",
            True,
        ),
        ("四个一律", "严格执行“四个一律”。对重大隐患一律停产整顿。", False),
        ("三级安全教育", "新进场工人必须经过公司、项目、班组“三级安全教育”，考试合格后方可上岗。", True),
        ("三级安全教育", "要抓好“三级安全教育”，考试合格后方可上岗。", False),
        ("三同时", "危险化学品新建、改建、扩建项目执行安全设施“三同时”制度情况。", False),
        ("良方", "五是用好“良方”，结合我县实际，用总书记开出的“良方”破解发展难题。", False),
        ("路长制", "建立“路长制”，由乡镇、村两级干部分段担任路长，负责辖区道路隐患排查。", True),
        ("叫应", "要建立“叫应”机制，预警发布后，指挥部要在30分钟内叫应到乡镇主要负责人。", True),
        ("三个必须", "坚决做到“三个必须”，确保各自辖区安全。", False),
        ("四个一律", "坚决做到“四个一律”，指挥部要加强调度。", False),
    ],
)
def test_more_shapes_of_a_definition(term: str, text: str, defined: bool) -> None:
    """Enumerated ("一个是…一个是…", "一方面…", a heading then "第一张是…", as many items as counted
    after it "没有审批不动火、没有监护不动火…" or before it "公司、项目、班组“三级安全教育”"), explained
    in the clause after it in its own word ("“路长制”，由…担任路长"), after a dash, "“X”指…", or
    named for what it describes ("属于“X”，下游…有村庄", "称之为“X”"): the speech spells the term out,
    so the mention-only note would be false. A term followed by its purpose, or only counted, is not
    defined."""
    for written in both(text):
        assert spells_out(term, written) is defined, written


def test_what_is_x_asks_for_the_content_of_x() -> None:
    from rag.answer.scoring import asked_terms

    for mark in "？?":
        assert asked_terms(f"什么是“头顶库”{mark}", set()) == ["头顶库"]
        assert asked_terms(f"什么是头顶库{mark}", {"头顶库"}) == ["头顶库"]
        assert asked_terms(f"“头顶库”是啥意思{mark}", set()) == ["头顶库"]
        assert asked_terms(f"头顶库有几座{mark}", {"头顶库"}) == []


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_term_defined_elsewhere_in_its_speech_is_quoted_from_there(fullwidth: bool) -> None:
    """The answer quotes the measures under "2.严控“头顶库”风险。", which name the term without saying
    what it is; the overview, another chunk of the same speech, does: that sentence is quoted first
    and its chunk fetched. A term the speech never spells out brings nothing."""
    from ingest.index.text import split_sentences
    from rag.answer.following import definition_elsewhere
    from rag.answer.scoring import Sentence

    overview = "尾矿库12座。12座尾矿库中，有3座属于“头顶库”，下游1公里范围内有村庄、学校或者省道。"
    measures = "2.严控“头顶库”风险。3座“头顶库”要在9月底前完成在线监测系统升级。"
    if not fullwidth:
        overview, measures = both(overview)[1], both(measures)[1]
    passages = [_passage(measures, "c2", "s1")]
    chunks = {"s1": [("c1", overview, {}), ("c2", measures, {})]}
    first = split_sentences(measures)[1]
    chosen = [Sentence(0, first.start, first.end, measures[first.start : first.end].strip(), 1.0)]
    quoted = definition_elsewhere(["头顶库"], chosen, passages, lambda speech: chunks[speech])
    assert [s.text[:5] for s in quoted] == ["12座尾矿", "3座“头顶" if fullwidth else '3座"头顶']
    assert quoted[0].passage == 1 and passages[1].chunk_id == "c1"
    chunks["s1"][0] = ("c1", "尾矿库12座，其中3座“头顶库”在城区上游。", {})
    assert definition_elsewhere(["头顶库"], chosen, passages[:1], lambda speech: chunks[speech]) == chosen


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_quoted_series_and_a_counted_which_ask_for_each_part(fullwidth: bool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """ "“一瓶一码、一户一档”是啥意思?" asks what each part means, and "“三个一批”，是哪三批？" what the
    three are: neither was read as asking for content, so the answer led with the sentence that
    only names the slogan, and the definition's later semicolon clauses were cut off."""
    from rag.answer.scoring import asked_terms
    from tests.test_value_questions import _composer

    comma, mark, quote = ("，", "？", "“{}”") if fullwidth else (",", "?", '"{}"')
    assert asked_terms(
        quote.format(f"一瓶一码{'、' if fullwidth else ','}一户一档") + f"是啥意思{mark}", set()
    ) == [
        "一瓶一码",
        "一户一档",
    ]
    assert asked_terms(quote.format("三个一批") + f"{comma}是哪三批{mark}", set()) == ["三个一批"]
    assert asked_terms(f"三个一批怎么落实{mark}", {"三个一批"}) == []
    text = (
        "对排查出的隐患房屋，要按照“三个一批”的要求分类处置。其中，“三个一批”就是：对可以修复的，加固改造一批；"
        "对暂时无法整治到位的，停用腾退一批；对没有加固价值的，拆除重建一批。"
    )
    if not fullwidth:
        text = both(text)[1]
    question = "对隐患房屋分类处置的" + quote.format("三个一批") + f"{comma}是哪三批{mark}"
    answer = _composer(text, tmp_path).compose(question, question, [_passage(text)])
    assert all(part in answer.text for part in ("加固改造一批", "停用腾退一批", "拆除重建一批")), answer.text
