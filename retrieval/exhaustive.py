"""The top k by scoring every posting a query touches, summed in query order, then selecting.

np.bincount and np.add.at both add each row's contributions one by one in the order given
(query order) to 0.0, exactly as rank-bm25 adds term by term (adding 0.0 elsewhere changes
nothing), so the scores are BM25Okapi's bits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.rows import Hit, Rows, kth_largest, top_in_segment
from retrieval.types import Sentence

# Above this many touched postings, a floor from one list cuts them before the selection.
_FLOOR_MIN = 1024
# From this many touched postings on, a large index adds list by list (no concatenated copy)
# and leaves weak lists out of the selection; below, fewer numpy calls pay more.
_LIST_BY_LIST = 4096


def small_top(
    hits: list[Hit],
    total: int,
    k: int,
    rows: np.ndarray,
    contributions: np.ndarray,
    sentences: Sequence[Sentence],
) -> list[tuple[Sentence, float]]:
    """The top k in a small prepared index of one segment, for a query's few postings.

    The common case, where a query's fixed costs are most of its time: the hits' postings
    are summed with one np.bincount, whose fresh zeroed array is cheap at this size.
    """
    if len(hits) == 1:
        _, _, start, end, _ = hits[0]
        return top_in_segment(rows[start:end], contributions[start:end], k, 1, sentences)
    row_parts, value_parts = [], []
    for _, _, start, end, _ in hits:
        row_parts.append(rows[start:end])
        value_parts.append(contributions[start:end])
    at = np.concatenate(row_parts)
    values = np.concatenate(value_parts)
    scores = np.bincount(at, values)[at]
    if total > _FLOOR_MIN:
        at, scores = _above_floor(at, scores, [len(part) for part in row_parts], k)
    return top_in_segment(at, scores, k, len(hits), sentences)


def exhaustive_top(
    rows: Rows,
    hits: list[Hit],
    matched: int,
    total: int,
    row_parts: list[np.ndarray],
    value_parts: list[np.ndarray],
    k: int,
    *,
    large: bool,
    maxima: list[np.ndarray] | None,
) -> list[tuple[Sentence, float]]:
    """Score every touched posting (summing in query order), then pick the top k.

    `row_parts` and `value_parts` are the hits' local rows and contributions. `matched`
    query terms have postings: a row is in at most that many of the hits, which hold `total`
    postings. A `large` index sums into the thread's accumulator, not a fresh array; with
    each list's largest contribution (`maxima`, per segment) it can also leave weak lists out.
    """
    lookups = rows.lookups
    assert lookups is not None
    if len(hits) == 1:
        offset = lookups[hits[0][0]].offset
        local = row_parts[0]
        return rows.best(local + offset if offset else local, value_parts[0], k, 1)
    if large and total >= _LIST_BY_LIST and maxima is not None:
        return _accumulated_top(rows, hits, matched, row_parts, value_parts, maxima, k)
    at = np.concatenate(row_parts)
    if len(lookups) > 1:
        # Local rows to global ones in one pass, not one small array per hit.
        offsets = np.array([lookups[hit[0]].offset for hit in hits], dtype=np.intp)
        at += offsets.repeat([hit[3] - hit[2] for hit in hits])
    values = np.concatenate(value_parts)
    if not large:
        scores = np.bincount(at, values)[at]  # its zeroed array is small: fresh is cheap
    else:
        accumulator = rows.accumulator()
        np.add.at(accumulator, at, values)
        scores = accumulator[at]
        rows.release(accumulator, at)
    if len(at) > _FLOOR_MIN:
        at, scores = _above_floor(at, scores, [len(part) for part in row_parts], k)
    return rows.best(at, scores, k, matched)


def _accumulated_top(
    rows: Rows,
    hits: list[Hit],
    matched: int,
    row_parts: list[np.ndarray],
    value_parts: list[np.ndarray],
    maxima: list[np.ndarray],
    k: int,
) -> list[tuple[Sentence, float]]:
    """`exhaustive_top` for many postings in a large index: list by list, no copies.

    Lists are added in query order, as rank-bm25 adds them. The k-th best full score
    among one list's rows is a floor under the k-th best overall; a sentence found only
    in lists whose largest contributions add up to less than it cannot be in the top k,
    so those lists (common terms: most postings) are left out of the selection.
    """
    lookups = rows.lookups
    assert lookups is not None
    accumulator = rows.accumulator()
    # Each segment's part of the accumulator as a view: its local rows need no offset.
    views = {
        number: accumulator[lookups[number].offset :][: lookups[number].size]
        for number in {hit[0] for hit in hits}
    }
    tops = []
    for position, ((number, local, *_), local_rows, values) in enumerate(
        zip(hits, row_parts, value_parts, strict=True)
    ):
        if position == 0:
            views[number][local_rows] = values  # 0.0 + x is x: contributions are never -0.0
        else:
            np.add.at(views[number], local_rows, values)  # each list's rows are distinct
        tops.append(maxima[number].item(local))
    # The floor comes from the shortest list that has k sentences (any would do).
    theta = None
    floor = min(
        (i for i, local_rows in enumerate(row_parts) if len(local_rows) >= k),
        key=lambda i: len(row_parts[i]),
        default=None,
    )
    if floor is not None:
        theta = kth_largest(views[hits[floor][0]][row_parts[floor]], k)
    skipped = _skippable(tops, theta) if theta is not None else set()
    kept = [
        local_rows + lookups[hit[0]].offset if lookups[hit[0]].offset else local_rows
        for position, (hit, local_rows) in enumerate(zip(hits, row_parts, strict=True))
        if position not in skipped
    ]
    at = np.concatenate(kept) if len(kept) > 1 else kept[0]
    scores = accumulator[at]
    for hit, local_rows in zip(hits, row_parts, strict=True):
        views[hit[0]][local_rows] = 0.0
    rows.give_back(accumulator)
    if theta is not None:
        keep = (scores >= theta).nonzero()[0]
        at, scores = at[keep], scores[keep]
    return rows.best(at, scores, k, matched)


def _above_floor(
    at: np.ndarray, scores: np.ndarray, lengths: list[int], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The entries that can be in the top k: a cheap cut before the exact selection.

    `at` is lists of these lengths one after the other. The k-th best full score among one
    list's (distinct) rows is a floor under the k-th best overall; the shortest list with k
    rows is cheapest to take it from.
    """
    shortest = min(
        (i for i, length in enumerate(lengths) if length >= k),
        key=lengths.__getitem__,
        default=None,
    )
    if shortest is None:
        return at, scores
    start = sum(lengths[:shortest])
    piece = scores[start : start + lengths[shortest]]
    keep = (scores >= kth_largest(piece, k)).nonzero()[0]
    return at[keep], scores[keep]


def _skippable(tops: list[float], theta: float) -> set[int]:
    """Lists (by position) whose largest contributions, summed in query order, stay below theta.

    Float addition is monotonic, so that sum bounds the score of any sentence found only in
    those lists, whichever of them it is in. The weakest lists are taken first.
    """
    skipped: set[int] = set()
    for position in sorted(range(len(tops)), key=tops.__getitem__):
        trial = skipped | {position}
        bound = 0.0
        for each in sorted(trial):  # not sum(): newer Pythons compensate its rounding
            bound += tops[each]
        if bound >= theta:
            break
        skipped = trial
    # Never all: theta is a sentence's score, so the sum of every list's maximum reaches it.
    return skipped if len(skipped) < len(tops) else set()


def list_maxima(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The largest contribution in each term's list (0.0 for a term without postings)."""
    maxima = np.zeros(len(indptr) - 1, dtype=np.float64)
    starts = indptr[:-1]
    present = (indptr[1:] > starts).nonzero()[0]
    if len(present):
        maxima[present] = np.maximum.reduceat(values, starts[present])
    return maxima
