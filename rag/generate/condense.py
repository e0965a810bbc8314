"""Condense: a follow-up plus the turns before it → one standalone question (a model call).

A flaky endpoint or a rambling rewrite must not cost the user the answer: either falls back to the
rule-based query the extractive path uses.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from rag.conversation import History, retrieval_query
from rag.generate.guard import bigrams, content_chars
from rag.generate.prompts import CONDENSE_PROMPT

HISTORY_TURNS = 3
HISTORY_ANSWER_CHARS = 200


def condense(model: BaseChatModel, question: str, history: History) -> str:
    """A standalone question from a follow-up and the turns before it."""
    if not history:
        return question
    turns = [f"用户:{q}\n助手:{a[:HISTORY_ANSWER_CHARS]}" for q, a in list(history)[-HISTORY_TURNS:]]
    message = HumanMessage("对话历史:\n" + "\n".join(turns) + f"\n\n追问:{question}\n\n改写后的问题:")
    try:
        rewritten = model.invoke([SystemMessage(CONDENSE_PROMPT), message], max_tokens=80).text
    except Exception:  # a flaky endpoint must not cost the user the answer
        return retrieval_query(question, history)
    rewritten = rewritten.strip().splitlines()[0].strip(" “”\"'") if rewritten.strip() else ""
    if (
        not content_chars(rewritten)
        or len(rewritten) > 4 * len(question) + 100
        or not takes_from_history(rewritten, question, history)
    ):
        return retrieval_query(question, history)
    return rewritten


def takes_from_history(rewritten: str, question: str, history: History) -> bool:
    """Does the rewrite bring words of the earlier turns that the follow-up lacks? A small model
    often returns the follow-up reworded ("这笔钱是否允许挪作他用?"), still without its subject."""
    earlier = bigrams("".join(q + a for q, a in history))
    return bool((bigrams(rewritten) - bigrams(question)) & earlier)
