"""Extractive answers: score sentences (extractive), decide whether the speeches answer at all
(answerability), and follow a lead to the list it announces (continuation)."""
