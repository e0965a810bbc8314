"""Generated answers: a chat model writes from the retrieved passages (generative), and every
sentence it writes must be supported by the passage it cites (guard)."""
