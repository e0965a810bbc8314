"""Measuring answers against gold evidence (evaluate) and the plain LangChain pipeline we compare
with (baseline)."""
