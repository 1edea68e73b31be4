"""Words both front ends print the same way."""

from __future__ import annotations


def counted(count: int, noun: str) -> str:
    """`1 sentence`, `42 sentences`: a count with its noun in the right number."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"
