"""The top k by early stopping: long posting lists read best first, only as deep as can matter.

Long lists are also kept in contribution order (their impact order); a query reads their best
postings, takes the k-th best exact score among what it read as a floor, and reads each list
just deep enough that no unread sentence can reach it (a threshold algorithm; reading nothing
of a weak term is MaxScore). Every score is still summed in query order: exact, as BM25Okapi's.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from retrieval import bitsets
from retrieval.bitsets import Bits
from retrieval.postings import Postings
from retrieval.rows import Rows, kth_largest
from retrieval.types import Sentence

# Posting lists longer than this are also kept in contribution order, for early stopping.
_IMPACT_MIN = 256
# Early stopping first reads this many of each long list's best postings, for a floor.
_SEED_DEPTH = 64
# Early stopping pays while it reads at most this share of the query's postings.
_PRUNED_SHARE = 0.3
# Lists up to this many times longer than the candidates are looked up whole, through a
# row -> candidate map; longer ones are searched for each candidate. A bitset makes the
# search about twice as cheap as a binary search, so it pays from fewer times longer.
_LOOKUP_RATIO = 8
_BITS_RATIO = 3
# Long lists holding at least one row in this many get a bitset of their rows (1/8 byte a
# row, and 1/16 for the counts: at most 12 bytes a posting, against 20 the list holds).
_BITS_DENSITY = 64
# Depth combinations tried per segment when choosing how deep to read long lists.
_LADDER_COMBINATIONS = 1024
# Fewer candidates than this are mapped with 16-bit slots.
_NARROW_SLOTS = 1 << 15
# A cost no depth combination reaches: the ones whose bound is not below theta.
_NEVER = np.iinfo(np.int64).max


class Impact(NamedTuple):
    """A long list's rows by contribution, best first, and depths worth reading to.

    `unread[i]` is the best contribution left after reading `ladder[i]` postings. A dense
    enough list also has its rows as a bitset, where a row's position is found by counting.
    """

    ranked: np.ndarray
    ladder: np.ndarray
    unread: np.ndarray
    bits: Bits | None


class PostingList(NamedTuple):
    """One query term's postings in one segment (rows local, `offset` makes them global)."""

    offset: int
    size: int
    rows: np.ndarray
    values: np.ndarray
    impact: Impact | None


def impacts(values: np.ndarray, postings: Postings, size: int) -> dict[int, Impact]:
    """The impact order of each long list (by local term) of a segment of `size` rows.

    `values` are every posting's contribution, in the postings' order.
    """
    impact: dict[int, Impact] = {}
    indptr = postings.indptr
    for local in np.flatnonzero(postings.df > _IMPACT_MIN).tolist():
        block = values[indptr[local] : indptr[local + 1]]
        rows = postings.rows[indptr[local] : indptr[local + 1]]
        order = np.argsort(-block)  # any order among equal contributions will do
        ladder = _ladder(len(block))
        unread = np.zeros(len(ladder), dtype=np.float64)  # all read: nothing left
        unread[:-1] = block[order[ladder[:-1]]]
        # The rows themselves, not their positions, so a prefix is one slice, not a
        # gather from all over the list; int32 halves the memory.
        ranked = rows[order].astype(np.int32)
        bits = None
        if len(block) * _BITS_DENSITY >= size:
            bits = bitsets.bitset(rows, size)
        impact[local] = Impact(ranked, ladder, unread, bits)
    return impact


def pruned_top(rows: Rows, lists: list[PostingList], k: int) -> list[tuple[Sentence, float]] | None:
    """Top k reading only part of the long lists (None: pruning would not pay).

    The best postings of each long list (by contribution) and the short lists whole give
    candidates whose exact scores set a floor `theta` under the final k-th score. Then
    each long list is read, best first, just deep enough that no sentence outside what
    was read can reach theta (a threshold algorithm; reading nothing of a weak term is
    MaxScore); the exact scores of what was read hold the top k.
    """
    seeds = []
    for each in lists:
        if each.impact is None:
            seeds.append(_global(each.rows, each.offset))
        else:
            seeds.append(_global(each.impact.ranked[:_SEED_DEPTH], each.offset))
    read_whole = [each.impact is None for each in lists]  # short lists are read whole
    at, scores = _score_candidates(rows, _distinct(seeds), lists, read_whole)
    if len(at) < k:
        return None
    theta = float(kth_largest(scores, k))
    if theta <= 0.0:
        return None
    if _seeds_suffice(lists, theta):
        return rows.best(at, scores, k, 1)
    depths = _depths(lists, theta)
    total = sum(len(each.rows) for each in lists)
    if depths is None or sum(depths) > total * _PRUNED_SHARE:
        return None
    parts = [at]
    in_order = True
    read_whole = [depth == len(each.rows) for each, depth in zip(lists, depths, strict=True)]
    for each, depth, whole in zip(lists, depths, read_whole, strict=True):
        if each.impact is not None and depth > _SEED_DEPTH:
            # Read whole, the list is in row order already: cheaper to sort.
            read = each.rows if whole else each.impact.ranked[:depth]
            parts.append(_global(read, each.offset))
            in_order = in_order and whole
    if len(parts) > 1:
        # The seeds stay candidates, so the new k-th score is at least theta.
        at, scores = _score_candidates(rows, _distinct(parts, in_order), lists, read_whole, theta)
    keep = (scores >= theta).nonzero()[0]  # the top k score theta at least
    return rows.best(at[keep], scores[keep], k, 1)


def _score_candidates(
    rows: Rows,
    at: np.ndarray,
    lists: list[PostingList],
    whole: list[bool],
    floor: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact scores of distinct sorted global rows, summed in query order.

    A list read whole (`whole`: each of its rows is a candidate, so its contributions
    are simply placed) or up to a few times longer than the candidates is looked up
    whole in a row -> candidate map (nothing over every row is added to or zeroed);
    longer lists are searched for the candidates. With a `floor`, the searches skip the
    candidates whose bound (contributions known so far, maxima for the lists still to
    search) stays below it: they cannot score `floor`, and are left out of the rows
    returned with scores.
    """
    narrow = len(at) < _NARROW_SLOTS
    slots = rows.slot_map(narrow)
    slots[at] = np.arange(len(at), dtype=slots.dtype)
    known: list[np.ndarray | None] = []
    for each, read in zip(lists, whole, strict=True):  # in query order, as scores add up
        bits = each.impact is not None and each.impact.bits is not None
        if read:
            contribution = np.zeros(len(at), dtype=np.float64)
            contribution[slots[_global(each.rows, each.offset)]] = each.values
            known.append(contribution)
        elif len(each.rows) <= (_BITS_RATIO if bits else _LOOKUP_RATIO) * len(at):
            found = slots[_global(each.rows, each.offset)]
            # Positions, not a mask: two boolean selections over a long list cost ~4x.
            hit = (found >= 0).nonzero()[0]
            contribution = np.zeros(len(at), dtype=np.float64)
            contribution[found[hit]] = each.values[hit]
            known.append(contribution)
        else:
            known.append(None)
    slots[at] = -1
    rows.give_back_slots(slots, narrow)
    if floor is not None and any(c is None for c in known):
        # Summed in query order from upper bounds, so it bounds the float score too.
        bound = np.zeros(len(at), dtype=np.float64)
        for each, contribution in zip(lists, known, strict=True):
            bound += _maximum(each) if contribution is None else contribution
        keep = (bound >= floor).nonzero()[0]
        at = at[keep]
        known = [None if c is None else c[keep] for c in known]
    several = len(rows.segments) > 1
    scores = np.zeros(len(at), dtype=np.float64)
    for each, contribution in zip(lists, known, strict=True):
        scores += _look_up(at, each, several) if contribution is None else contribution
    return at, scores


def _look_up(at: np.ndarray, each: PostingList, several: bool) -> np.ndarray:
    """Each candidate's contribution from one list (0.0 where absent).

    Found through the list's bitset when it has one (a rank count per candidate), else by
    binary search in its rows. `several`: the index has several segments.
    """
    contribution = np.zeros(len(at), dtype=np.float64)
    if several:
        low, high = np.searchsorted(at, (each.offset, each.offset + each.size)).tolist()
        local = at[low:high] - each.offset
    else:
        low, high, local = 0, len(at), at
    bits = each.impact.bits if each.impact is not None else None
    if len(local) and bits is not None:
        hit, rank = bitsets.find(bits, local)
        contribution[low + hit] = each.values[rank]
    elif len(local):
        rows = each.rows
        index = np.searchsorted(rows, local)
        np.minimum(index, len(rows) - 1, out=index)
        hit = (rows[index] == local).nonzero()[0]  # positions: cheaper than a mask twice
        contribution[low + hit] = each.values[index[hit]]
    return contribution


def _global(rows: np.ndarray, offset: int) -> np.ndarray:
    return rows + offset if offset else rows


def _maximum(each: PostingList) -> float:
    """The largest contribution in a list."""
    return float(each.impact.unread[0]) if each.impact is not None else float(each.values.max())


def _seeds_suffice(lists: list[PostingList], theta: float) -> bool:
    """Whether no sentence outside the seeds can reach theta (Fagin's threshold algorithm)."""
    bounds: dict[int, float] = {}
    for each in lists:  # in query order within each segment
        if each.impact is not None:  # its ladder's first step is the seed depth
            bounds[each.offset] = bounds.get(each.offset, 0.0) + float(each.impact.unread[1])
    return all(bound < theta for bound in bounds.values())


def _depths(lists: list[PostingList], theta: float) -> list[int] | None:
    """How deep to read each list, best first, so no unread sentence can reach theta.

    A sentence lies in one segment, so each segment is bounded apart: the bound of a sentence
    not read adds up, in query order, the contribution just past each of its segment's long
    lists' depth (short lists are read whole; float sums in the same order keep it a bound).
    Depths come from each list's ladder: none, then doubling from the seed depth to the whole
    list. Of the combinations whose bound stays below theta, the one reading fewest wins
    (None if a segment has too many long lists to weigh).
    """
    depths = [len(each.rows) if each.impact is None else 0 for each in lists]
    by_segment: dict[int, list[int]] = {}
    for number, each in enumerate(lists):
        if each.impact is not None:
            by_segment.setdefault(each.offset, []).append(number)
    for members in by_segment.values():  # in query order, as search lists them
        impacts = [lists[number].impact for number in members]
        ladders = [(each.ladder, each.unread) for each in impacts if each is not None]
        while math.prod(len(ladder) for ladder, _ in ladders) > _LADDER_COMBINATIONS:
            # Too many combinations: every other step of the longest ladder, ends kept.
            i = max(range(len(ladders)), key=lambda i: len(ladders[i][0]))
            ladder, unread = ladders[i]
            if len(ladder) <= 2:
                return None
            keep = _every_other(len(ladder))
            ladders[i] = (ladder[keep], unread[keep])
        read, bound = ladders[0]
        for ladder, unread in ladders[1:]:
            bound = np.add.outer(bound, unread)
            read = np.add.outer(read, ladder)
        flat = int(np.where(bound < theta, read, _NEVER).argmin())
        for number, (ladder, _) in zip(members[::-1], ladders[::-1], strict=True):
            flat, step = divmod(flat, len(ladder))
            depths[number] = int(ladder[step])
    return depths


@functools.cache
def _every_other(length: int) -> np.ndarray:
    """Positions of every other step of a ladder this long, its ends kept."""
    return np.array([*range(0, length - 1, 2), length - 1], dtype=np.intp)


def _ladder(length: int) -> np.ndarray:
    """Depths worth trying in a list: none, then doubling from the seed depth, then all."""
    doublings = ((length - 1) // _SEED_DEPTH).bit_length()
    return np.array(
        [0, *(_SEED_DEPTH << step for step in range(doublings)), length], dtype=np.int64
    )


def _distinct(parts: list[np.ndarray], in_order: bool = False) -> np.ndarray:
    """The sorted distinct values of several integer arrays (a sort beats np.unique here).

    `in_order`: every part is ascending, so a merge sort (a few runs to merge) is fastest;
    otherwise numpy's quicksort (vectorised) sorts the rows read in contribution order
    about ten times faster than the merge sort does.
    """
    values = np.concatenate(parts, dtype=np.intp)  # a copy even of one part: sorted in place
    values.sort(kind="stable" if in_order else "quicksort")
    if len(values) > 1:
        new = np.empty(len(values), dtype=bool)
        new[0] = True
        np.not_equal(values[1:], values[:-1], out=new[1:])
        values = values[new]
    return values
