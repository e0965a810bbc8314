"""The answer's text with [n] markers, its citations, and the refusal."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.scoring import Sentence
from rag.types import Answer, Citation, Passage

REFUSAL = "现有讲话中没有找到能回答这个问题的内容。"
RELATED_HEADER = "相关段落(供参考,并不直接回答这个问题):"


def cite(chosen: list[Sentence], passages: Sequence[Passage]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with [n] markers; one citation per passage, quoting the sentences used."""
    number: dict[int, int] = {}
    for sentence in chosen:
        number.setdefault(sentence.passage, len(number) + 1)
    lines = [f"{s.text}[{number[s.passage]}]" for s in chosen]
    citations = []
    for passage_index, n in number.items():
        passage = passages[passage_index]
        used = sorted((s for s in chosen if s.passage == passage_index), key=lambda s: s.start)
        citations.append(Citation.of(passage, n, _join_quotes(passage.text, used)))
    return "\n".join(lines), tuple(citations)


def _join_quotes(text: str, used: list[Sentence]) -> str:
    """The used sentences as the passage has them: adjacent ones with what stands between them (a
    line break between two list items stays, so the quote is verbatim), others with "……"."""
    parts: list[str] = []
    end = -1  # where the previous sentence ends in the passage; -1: none, or not found as written
    for number, sentence in enumerate(used):
        at = text.find(sentence.text, max(0, sentence.start - 1))
        if number:
            gap = text[end:at] if 0 <= end <= at else "……"
            parts.append(gap if not gap.strip() else "……")
        parts.append(sentence.text)
        end = at + len(sentence.text) if at >= 0 else -1
    return "".join(parts)


def refusal(question: str, passages: Sequence[Passage]) -> Answer:
    return Answer(question=question, text=refusal_text(passages), refused=True, related=tuple(passages[:3]))


def refusal_text(passages: Sequence[Passage]) -> str:
    lines = [REFUSAL, "", RELATED_HEADER]
    for passage in passages[:3]:
        excerpt = passage.text.replace("\n", " ")
        excerpt = excerpt if len(excerpt) <= 80 else excerpt[:80] + "……"
        lines.append(f"· 《{passage.speech_title}》({passage.source}):{excerpt}")
    return "\n".join(lines)
