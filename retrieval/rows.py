"""An index's rows: its segments end to end, scratch arrays over them, and picking the k best.

Row r of segment i is global row `offsets[i] + r`. The k best rows are those with the highest
scores; ties go to the sentence earlier in document order, and only positive scores count.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from retrieval.postings import Segment
from retrieval.types import Sentence

# Up to this many scored entries, the final ordering is a Python sort of tuples.
_PYTHON_SORT = 64
# Up to this many values, the k-th largest is found by sorting them all, not partitioning.
_SORT_SELECT = 512


class Lookup(NamedTuple):
    """What a query needs of one segment to find its terms' postings, at hand."""

    get: Callable[[str], int | None]
    indptr: list[int]
    rows: np.ndarray
    offset: int
    size: int


# A query term's postings in one segment: (segment number, local term, start, end, term).
Hit = tuple[int, int, int, int, str]


class _Ties(NamedTuple):
    """How ties between segments go (with several segments, once the index is prepared).

    When the rows follow order keys across segments too (as when each segment's documents all
    come after the previous segment's), `sentences` holds every row's sentence, so rows alone
    decide; otherwise `keys` holds every row's order key.
    """

    keys: np.ndarray | None
    sentences: list[Sentence] | None


class Rows:
    """The rows of an index's non-empty segments, numbered one after another.

    Each thread has its own arrays over all rows (a score accumulator, row -> candidate maps),
    taken for a query and given back clean.
    """

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.offsets: list[int] = np.cumsum([0] + [len(s) for s in segments]).tolist()
        self._offset_array = np.asarray(self.offsets, dtype=np.int64)
        self.count = self.offsets[-1]
        self.sentence_lists = [segment.sentences for segment in segments]
        self.lookups: list[Lookup] | None = None
        self._ties: _Ties | None = None
        self._scratch = threading.local()

    def make_lookups(self) -> list[Lookup]:
        """Every segment's `Lookup`, kept for the next queries."""
        lookups = [
            Lookup(s.postings.vocabulary.get, s.indptr_list, s.postings.rows, offset, len(s))
            for s, offset in zip(self.segments, self.offsets, strict=False)
        ]
        self.lookups = lookups  # built whole, then published (other threads may query)
        return lookups

    def prepare_ties(self) -> None:
        """Precompute how ties between segments go (8 bytes a row, no search per query)."""
        if len(self.segments) > 1:
            keys = np.concatenate([segment.order for segment in self.segments])
            if bool((keys[1:] > keys[:-1]).all()):
                self._ties = _Ties(None, list(itertools.chain(*self.sentence_lists)))
            else:
                self._ties = _Ties(keys, None)

    @property
    def nbytes(self) -> int:
        """Memory held by the precomputed ties."""
        own = 0
        if self._ties is not None:
            if self._ties.keys is not None:
                own += self._ties.keys.nbytes
            if self._ties.sentences is not None:
                own += 8 * len(self._ties.sentences)  # the list's references
        return own

    def best(
        self, at: np.ndarray, scores: np.ndarray, k: int, repeats: int
    ) -> list[tuple[Sentence, float]]:
        """The top k rows by score, ties by document order, positive scores only.

        A row may appear up to `repeats` times (once per list), always with its full score,
        so the best k * repeats entries hold the best k distinct rows.
        """
        if len(self.segments) == 1:
            return top_in_segment(at, scores, k, repeats, self.sentence_lists[0])
        ties = self._ties
        if ties is not None and ties.sentences is not None:
            return top_in_segment(at, scores, k, repeats, ties.sentences)
        wanted = k * repeats
        if len(at) > 2 * wanted:
            keep = (scores >= kth_largest(scores, wanted)).nonzero()[0]
            at, scores = at[keep], scores[keep]
        known = ties.keys if ties is not None else None
        keys = known[at] if known is not None else self._order_keys(at)
        if len(at) > _PYTHON_SORT:
            order = np.lexsort((keys, -scores))
            at, scores, keys = at[order], scores[order], keys[order]
        rows = at.tolist()
        ranked = zip((-scores).tolist(), keys.tolist(), rows, strict=True)
        if len(at) <= _PYTHON_SORT:
            ranked = iter(sorted(ranked))
        found = []
        last = -1
        offsets = self.offsets
        lists = self.sentence_lists
        for negative, _, row in ranked:
            if row != last:  # repeats of a row are adjacent: same score, same key
                if negative >= 0.0:
                    break
                number = bisect.bisect_right(offsets, row) - 1
                found.append((lists[number][row - offsets[number]], -negative))
                if len(found) == k:
                    break
                last = row
        return found

    def _order_keys(self, at: np.ndarray) -> np.ndarray:
        numbers = np.searchsorted(self._offset_array, at, side="right") - 1
        keys = np.empty(len(at), dtype=np.int64)
        for number in np.unique(numbers).tolist():
            mine = numbers == number
            keys[mine] = self.segments[number].order[at[mine] - self.offsets[number]]
        return keys

    def accumulator(self) -> np.ndarray:
        """A zeroed score array over every row, this thread's own.

        The thread's array is taken, not lent: if a query fails midway it is simply dropped,
        so a half-used array can never be handed to the next query.
        """
        scratch = getattr(self._scratch, "scores", None)
        self._scratch.scores = None
        return scratch if scratch is not None else np.zeros(self.count, dtype=np.float64)

    def give_back(self, accumulator: np.ndarray) -> None:
        """Give back this thread's array, zeroed again by the caller."""
        self._scratch.scores = accumulator

    def release(self, accumulator: np.ndarray, touched: np.ndarray) -> None:
        """Give back this thread's array with its touched entries zeroed."""
        accumulator[touched] = 0.0
        self._scratch.scores = accumulator

    def slot_map(self, narrow: bool = False) -> np.ndarray:
        """A row -> candidate map, -1 everywhere: this thread's own, taken like the scores.

        `narrow`: int16 slots, for fewer than 32,768 candidates (half the memory to read).
        """
        name = "narrow" if narrow else "slots"
        slots = getattr(self._scratch, name, None)
        setattr(self._scratch, name, None)
        if slots is None:
            slots = np.full(self.count, -1, dtype=np.int16 if narrow else np.int32)
        return slots

    def give_back_slots(self, slots: np.ndarray, narrow: bool) -> None:
        """Give back this thread's map, -1 everywhere again."""
        if narrow:
            self._scratch.narrow = slots
        else:
            self._scratch.slots = slots


def top_in_segment(
    at: np.ndarray, scores: np.ndarray, k: int, repeats: int, sentences: Sequence[Sentence]
) -> list[tuple[Sentence, float]]:
    """`Rows.best` where rows follow order keys (within a segment they do)."""
    wanted = k * repeats
    count = len(at)
    if count > 2 * wanted:
        copy = scores.copy()  # the k-th largest, as kth_largest finds it, without the call
        if count <= _SORT_SELECT:
            copy.sort()
        else:
            copy.partition(count - wanted)
        keep = (scores >= copy[count - wanted]).nonzero()[0]
        at, scores = at[keep], scores[keep]
    if len(at) > _PYTHON_SORT:
        order = np.lexsort((at, -scores))
        ranked = list(zip((-scores[order]).tolist(), at[order].tolist(), strict=True))
    else:
        ranked = sorted(zip((-scores).tolist(), at.tolist(), strict=True))
    found: list[tuple[Sentence, float]] = []
    last = -1
    for negative, row in ranked:
        if row != last:  # repeats of a row are adjacent: same score, same row
            if negative >= 0.0:
                break
            found.append((sentences[row], -negative))
            if len(found) == k:
                break
            last = row
    return found


def kth_largest(values: np.ndarray, k: int) -> np.float64:
    """The k-th largest of the values (1 <= k <= len).

    The ndarray methods skip np.partition's Python wrappers, which cost about as much as
    partitioning the few hundred values a small query has; up to a few hundred values,
    numpy's vectorised sort is faster still than its partition.
    """
    copy = values.copy()
    if len(copy) <= _SORT_SELECT:
        copy.sort()
    else:
        copy.partition(len(copy) - k)
    return copy[len(copy) - k]
