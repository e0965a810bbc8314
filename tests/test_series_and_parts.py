"""A slogan spelled out part by part, on speeches nobody tuned for (issue 12): every part is quoted,
and a slogan of bare numerals (“一三五”) is recognised as defined. Full-width and half-width alike."""

from __future__ import annotations

import pytest

from rag.answer.answerability import spells_out, term_parts
from rag.answer.continuation import continuation, following_sentences
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
        ("三个必须", "坚决做到“三个必须”，确保各自辖区安全。", False),
        ("四个一律", "坚决做到“四个一律”，指挥部要加强调度。", False),
    ],
)
def test_more_shapes_of_a_definition(term: str, text: str, defined: bool) -> None:
    """Enumerated ("一个是…一个是…", "一方面…"), after a dash, or "“X”指…": the speech spells the
    term out, so the mention-only note would be false. A term followed by its purpose is not defined."""
    for written in both(text):
        assert spells_out(term, written) is defined, written
