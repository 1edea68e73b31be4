"""Ranking metrics with score ties broken at random (seeded, averaged over several draws).

Data sets often list the answer first; breaking ties by position would reward a ranker for
scoring everything equal. Each draw gives every item a random key used only among equal
scores, and the metrics are averaged over the draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

DRAWS = 8


@dataclass(frozen=True, slots=True)
class RankMetrics:
    """Mean accuracy@1, MRR and MAP over questions."""

    acc1: float
    mrr: float
    map: float
    count: int


def ranks_of_answers(
    scores: np.ndarray, answers: Iterable[int], rng: np.random.Generator, draws: int = DRAWS
) -> np.ndarray:
    """For each draw, the sorted 1-based ranks of the answers (shape draws x answers)."""
    answers = np.fromiter(answers, dtype=np.int64)
    keys = rng.random((draws, scores.size))
    # Sort by score descending, then random key: lexsort's last key is the primary one.
    result = np.empty((draws, answers.size), dtype=np.int64)
    for draw in range(draws):
        order = np.lexsort((keys[draw], -scores))
        position = np.empty(scores.size, dtype=np.int64)
        position[order] = np.arange(1, scores.size + 1)
        result[draw] = np.sort(position[answers])
    return result


def question_metrics(
    scores: np.ndarray, answers: Iterable[int], rng: np.random.Generator
) -> tuple[float, float, float]:
    """accuracy@1, reciprocal rank and average precision of one question (tie-averaged)."""
    ranks = ranks_of_answers(scores, answers, rng)
    first = ranks[:, 0]
    acc1 = float(np.mean(first == 1))
    rr = float(np.mean(1.0 / first))
    hits = np.arange(1, ranks.shape[1] + 1)
    ap = float(np.mean(np.mean(hits / ranks, axis=1)))
    return acc1, rr, ap


def mean_metrics(rows: list[tuple[float, float, float]]) -> RankMetrics:
    """Average the per-question metrics."""
    if not rows:
        return RankMetrics(0.0, 0.0, 0.0, 0)
    array = np.asarray(rows)
    return RankMetrics(*(float(x) for x in array.mean(axis=0)), count=len(rows))
