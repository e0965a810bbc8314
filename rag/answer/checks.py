"""When the quoted sentences do not answer the question: refusal checks (issue 12).

A composer refuses when nothing was found, a quoted phrase is nowhere, the kind of answer
asked for (a year, a duration, a document, a value) is missing, or the quoted passages are
about something else than the question's focus.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.index.tokenize import find_slogans
from rag.answer.scoring import Sentence
from rag.types import Passage

_QUOTED_PHRASE = re.compile(r"[“\"「『]([^“”\"「」『』]{2,40})[”\"」』]")

# What a question asks for, and what a sentence must hold to answer it.
_ANSWER_TYPES = (
    (
        re.compile(r"哪一年|哪年|何年|什么年份"),
        re.compile(r"(\d{2,4}|[〇零一二三四五六七八九]{2,4}|[xX×]+)\s*年"),
    ),
    # "从什么时候开始" is answered by a year ("从2019年起") as much as by a date or a clock time
    # ("从5月1日12时开始"); asked as a year only, a fishing ban's dates were refused.
    (
        re.compile(r"从什么时候开始"),
        re.compile(
            r"(\d{2,4}|[〇零一二三四五六七八九]{2,4}|[xX×]+)\s*年"
            r"|(\d{1,2}|[一二三四五六七八九十]{1,3}|[xX×]+)\s*月|\d{1,2}\s*[时点](?![间期代候段刻])"
        ),
    ),
    (
        re.compile(r"多长时间|多久|几天|几个小时|多少小时|多少天|多少分钟|时限|期限"),
        re.compile(
            r"(\d+|[一二两三四五六七八九十半]+|[xX×]+)\s*(个)?(小时|分钟|天|周|工作日|日内|个月|年内|季度|学期)"
            # "三年不变", "5年以上"; not "2024年", nor a plan named by its span ("三年行动")
            r"|((?<!\d)\d{1,2}|[一二两三四五六七八九十半]+)\s*年(以上|以内|之内|不变|一次|为限|期满)"
            r"|每个?(天|日|周|旬|月|季度?|半年|年|学期)"  # "多久一次" is answered by "每季度至少一次"
        ),
    ),
    (re.compile(r"多少年"), re.compile(r"(\d+|[一二两三四五六七八九十]+|[xX×]+)\s*年")),
    (
        re.compile(r"哪个文件|什么文件|哪部|哪项法规|哪个规定|什么规定|哪份文件|依据什么"),
        re.compile(r"《[^》]+》|[\dxX×]+号(文件|令|文)"),
    ),
    # "由哪个部门验收" is answered by a sentence that names a body, not one about the object alone.
    (
        re.compile(r"(哪个|哪些|什么|哪一?级|哪家)(部门|机构|单位)"),
        re.compile(r"部门|机构|单位|政府|指挥部|委员会|办公室|中心|大队|支队|公司|[局委办厅署]"),
    ),
)


def missing_answer_type(question: str, sentences: Sequence[Sentence]) -> bool:
    """The question asks for a year, a duration, a document or a body, and no chosen sentence has one."""
    text = "".join(s.text for s in sentences)
    return any(asks.search(question) and not holds.search(text) for asks, holds in _ANSWER_TYPES)


def unmatched_quotes(
    question: str, passages: Sequence[Passage], slogans: set[str] | None = None
) -> list[str]:
    """Phrases the question quotes (or the slogans it names: find_slogans, passed down when
    already known) that no retrieved passage contains, not even in part."""
    slogans = find_slogans(question) if slogans is None else slogans
    corpus = "".join("".join(p.text.split()) for p in passages)
    missing = []
    for phrase in slogans | set(_QUOTED_PHRASE.findall(question)):
        parts = [p for p in re.split(r"[、,，;；\s]+", phrase) if p]
        if not any(part in corpus for part in parts):
            missing.append(phrase)
    return missing


def question_parts(question: str) -> list[str]:
    """The sub-questions of a compound question ("还有多少没有开工?对这些项目怎么推进?")."""
    parts = [p.strip() for p in re.split(r"[?？;；]", question) if len(p.strip()) >= 4]
    return parts if len(parts) > 1 else []
