"""Which quoted terms would get the "only mentioned" note? Asks "“X”是什么？" of every slogan in the
index and lists those the answer says the speeches only mention, each with the text around it.

    POLICYQA_STORE_DIR=/tmp/eval-store .venv/bin/python eval/mention_probe.py

A false note ("讲话只是提到了…" when the speech does spell the term out) is worse than a refusal
(issue 12), and the questions of the evaluation sets ask about few of a speech's terms. Reading this
list finds the shapes of definition that rag.answer.definitions does not know yet ("公司、项目、
班组“三级安全教育”"); the verdict is a reader's, so the script prints and scores nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.index.tokenize import find_slogans
from rag.answer.extractive import MENTION_MARK
from rag.api import PolicyQA

CONTEXT_CHARS = 90


def main() -> None:
    qa = PolicyQA.open()
    texts = [text for text, _ in qa.store.documents().values()]
    for term in sorted({slogan for text in texts for slogan in find_slogans(text)}):
        answer = qa.ask(f"“{term}”是什么？")
        if answer.note and MENTION_MARK in answer.note:
            around = next(t for t in texts if term in t)
            at = around.index(term)
            print(f"{term}\t{around[max(0, at - 20) : at + CONTEXT_CHARS]}".replace("\n", " "))


if __name__ == "__main__":
    main()
