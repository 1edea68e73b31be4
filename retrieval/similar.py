"""Questions asked before: how closely two questions match, by the analysis ranking uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from retrieval.analyzer import Analyzer

K = TypeVar("K")
# The share of two questions' weight they must have in common to be "the same question".
SIMILAR = 0.7


def similarity(
    first: Iterable[str], second: Iterable[str], weight: Callable[[str], float]
) -> float:
    """How much two questions' terms overlap, 0..1 (a weighted Jaccard index).

    The weight of the terms both hold over the weight of the terms either holds: rare terms
    (high IDF) count most.
    """
    a, b = set(first), set(second)
    union = sum(max(weight(term), 0.0) for term in a | b)
    if union <= 0:
        return 0.0
    return sum(max(weight(term), 0.0) for term in a & b) / union


def most_similar(
    question: str,
    earlier: Iterable[tuple[K, str]],
    analyzer: Analyzer,
    weight: Callable[[str], float],
    *,
    threshold: float = SIMILAR,
) -> K | None:
    """The key of the earlier question closest to this one, or None.

    Only one at least `threshold` alike counts; between equals, the first given wins.
    """
    terms = set(analyzer.analyze(question))
    if not terms:
        return None
    best: K | None = None
    best_score = threshold
    for key, text in earlier:
        other = analyzer.analyze(text)
        if terms.isdisjoint(other):
            continue  # nothing in common: not worth weighing
        score = similarity(terms, other, weight)
        if score > best_score or (best is None and score == best_score):
            best, best_score = key, score
    return best
