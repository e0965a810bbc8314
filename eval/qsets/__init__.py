"""Question sets behind eval/questions.jsonl, one module per group of sources.

See eval/build_questions.py."""
