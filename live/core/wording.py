"""Counts in what encore prints: "1 note", "2 notes", "1,204 events"."""

from __future__ import annotations


def count(number: int, word: str, plural: str | None = None) -> str:
    """The number (thousands grouped) and the word, singular for exactly one."""
    return f"{number:,} {word if number == 1 else plural or word + 's'}"
