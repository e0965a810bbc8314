"""Follow-up questions: turn "那煤矿方面呢?" or "第二点具体怎么做?" into something searchable.

The extractive mode has no language model to rewrite a follow-up, so it does
what a reader would: a short or referring question borrows the previous
question's topic, and "第二点" fetches the second item of the previous answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

History = Sequence[tuple[str, str]]

_CN_NUMBERS = "一二三四五六七八九十"
_ORDINAL = re.compile(rf"第\s*([{_CN_NUMBERS}\d]+)\s*(点|条|个|项|方面|部分|是)")
_REFERRING = re.compile(
    r"^(那|那么|还有|另外|此外|再|其中|这|它|其|该|上述|上面|刚才|前面|呢)|(呢|吗)[?？]?$"
)
_CITATION = re.compile(r"\[\d+\]")


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_NUMBERS.index(text[1]) + 1
    return _CN_NUMBERS.index(text[0]) + 1


def nth_item(answer: str, n: int) -> str | None:
    """The n-th enumerated item (一是/二要/(二)/2.) in an earlier answer, if it has one."""
    mark = _CN_NUMBERS[n - 1] if 1 <= n <= 10 else str(n)
    pattern = re.compile(rf"({mark}[是要、]|[(（]{mark}[)）]|(?<!\d){n}[.、．])(.+?)(?=[。；;\n]|$)")
    match = pattern.search(_CITATION.sub("", answer))
    return match.group(0) if match else None


def is_follow_up(question: str) -> bool:
    return bool(_ORDINAL.search(question) or _REFERRING.search(question))


def _referred_item(question: str, history: History) -> str | None:
    if ordinal := _ORDINAL.search(question):
        return nth_item(history[-1][1] or "", _number(ordinal.group(1)))
    return None


def retrieval_query(question: str, history: History) -> str:
    """The text to search with: the question, plus what it refers back to."""
    if not history or not is_follow_up(question):
        return question
    previous_question = history[-1][0]
    if item := _referred_item(question, history):
        return f"{previous_question} {item} {question}"
    return f"{previous_question} {question}"


def focus_query(question: str, history: History) -> str:
    """The words an answer's sentences should match: for "第二点…", the second item itself."""
    if history and (item := _referred_item(question, history)):
        return f"{item} {question}"
    return retrieval_query(question, history)
