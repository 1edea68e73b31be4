"""BM25 ranking over sentences, scoring exactly as rank-bm25's BM25Okapi does, but fast.

Every score is computed with the same floating-point operations, in the same order, as
`BM25Okapi.get_scores` on the same collection, so scores are bit-for-bit equal:

    idf(q) * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)))

summed over the query's terms in query order (a sentence without the term adds 0.0, which
changes nothing). The collection may be several segments (a scope's documents and the global
ones); its statistics (sentence count, average length, document frequencies) are those of the
union. Per-posting contributions are precomputed once per index (`prepare`); until then, or
when they are not worth it, the contributions of the touched postings are computed per query.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from retrieval.postings import Segment
from retrieval.types import Sentence

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25
# Below this many rows a fresh zeroed accumulator per query is cheaper than a cached one.
_SCRATCH_ROWS = 1 << 16
# Queries touching fewer postings than this score them all; longer ones try early stopping.
_EXHAUSTIVE_MAX = 4096
# Posting lists longer than this are also kept in contribution order, for early stopping;
# each pruning round reads this many of their best postings.
_IMPACT_MIN = 256
_DEPTHS = (64, 1024)
# MaxScore pays while the lists it must read whole hold at most this share of the postings.
_STRONG_SHARE = 0.6


class _List(NamedTuple):
    """One query term's postings in one segment."""

    position: int
    segment: int
    rows: np.ndarray
    values: np.ndarray
    impact: np.ndarray | None
    maximum: float


class _Prepared(NamedTuple):
    """Per segment: every posting's contribution, and long lists' order by contribution."""

    contributions: list[np.ndarray]
    impact: list[dict[int, np.ndarray]]
    maxima: list[np.ndarray]


class SentenceIndex:
    """An immutable BM25 index over sentences in document order.

    rank-bm25 divides by zero on an empty corpus and, on a tiny one, can give every term a
    negative IDF; both are guarded here so a question never crashes or scores silently zero.
    Where rank-bm25 would floor IDFs at a non-positive value (epsilon times a non-positive
    average IDF, which takes a very small collection), every term with IDF <= 0 gets
    `epsilon` instead: the one place scores deliberately differ from rank-bm25.
    """

    def __init__(
        self,
        sentences: Sequence[Sentence],
        terms: Sequence[Sequence[str]],
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        epsilon: float = DEFAULT_EPSILON,
    ) -> None:
        order = np.arange(len(sentences), dtype=np.int64)
        segment = Segment.build(sentences, terms, order=order)
        self._setup([segment], k1=k1, b=b, epsilon=epsilon)
        self.prepare()

    @classmethod
    def from_segments(
        cls,
        segments: Iterable[Segment],
        *,
        k1: float = DEFAULT_K1,
        b: float = DEFAULT_B,
        epsilon: float = DEFAULT_EPSILON,
    ) -> SentenceIndex:
        """An index over the union of segments; cheap: call `prepare` later for speed."""
        index = cls.__new__(cls)
        index._setup(list(segments), k1=k1, b=b, epsilon=epsilon)
        return index

    def _setup(self, segments: list[Segment], *, k1: float, b: float, epsilon: float) -> None:
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self._segments = [segment for segment in segments if len(segment)]
        self._offsets = np.cumsum([0] + [len(s) for s in self._segments]).tolist()
        self._offset_array = np.asarray(self._offsets, dtype=np.int64)
        self._rows = self._offsets[-1]
        self.corpus_size = sum(segment.live_count for segment in self._segments)
        total_length = sum(segment.live_length for segment in self._segments)
        # rank-bm25: avgdl = num_doc / corpus_size, both ints.
        self.avgdl = total_length / self.corpus_size if self.corpus_size else 0.0
        self._empty = self.corpus_size == 0 or total_length == 0
        self._average_idf: float | None = None
        self._prepared: _Prepared | None = None
        self._scratch = threading.local()
        self._sentences: list[Sentence] | None = None

    # -- the public surface ----------------------------------------------------------------

    def __len__(self) -> int:
        return self.corpus_size

    @property
    def sentences(self) -> list[Sentence]:
        """The live sentences, segment by segment (built on first use)."""
        if self._sentences is None:
            found: list[Sentence] = []
            for segment in self._segments:
                if segment.dead is None:
                    found.extend(segment.sentences)
                else:
                    found.extend(
                        s for s, d in zip(segment.sentences, segment.dead, strict=True) if not d
                    )
            self._sentences = found
        return self._sentences

    @property
    def segments(self) -> list[Segment]:
        """The segments this index ranks over."""
        return list(self._segments)

    def idf(self, term: str) -> float:
        """The IDF BM25 gives a term; an unseen term gets the IDF of document frequency 0."""
        if self._empty:
            return 0.0
        return self._idf_of_df(self.document_frequency(term))

    def document_frequency(self, term: str) -> int:
        """In how many live sentences the term occurs."""
        df = 0
        for segment in self._segments:
            local = segment.postings.vocabulary.get(term)
            if local is not None:
                df += int(segment.live_df[local])
        return df

    def search(self, query: Sequence[str], k: int) -> list[tuple[Sentence, float]]:
        """The k best sentences with positive scores; ties go to the earlier sentence."""
        if self._empty or not query or k <= 0:
            return []
        prepared = self._prepared
        lists: list[_List] = []
        total = 0
        for number, segment in enumerate(self._segments):
            postings = segment.postings
            vocabulary = postings.vocabulary
            indptr = segment.indptr_list
            for position, term in enumerate(query):
                local = vocabulary.get(term)
                if local is None:
                    continue
                start, end = indptr[local], indptr[local + 1]
                rows = postings.rows[start:end]
                impact = None
                maximum = 0.0
                if prepared is not None:
                    values = prepared.contributions[number][start:end]
                    impact = prepared.impact[number].get(local)
                    maximum = float(prepared.maxima[number][local])
                else:
                    values = self._live_values(term, segment, start, end)
                lists.append(_List(position, number, rows, values, impact, maximum))
                total += end - start
        if not lists:
            return []
        if total > _EXHAUSTIVE_MAX and prepared is not None:
            found = self._pruned_top(query, lists, k)
            if found is not None:
                return found
        return self._exhaustive_top(lists, k)

    def _live_values(self, term: str, segment: Segment, start: int, end: int) -> np.ndarray:
        """Contributions computed now from term frequencies (before `prepare`)."""
        postings = segment.postings
        rows = postings.rows[start:end]
        idf = self._idf_of_df(self.document_frequency(term))
        values = self._contribution(idf, postings.tf[start:end], postings.lengths[rows])
        if segment.dead is not None:
            values[segment.dead[rows]] = 0.0  # removed sentences score nothing
        return values

    def neighbours(self, sentence: Sentence) -> tuple[Sentence | None, Sentence | None]:
        """The sentences just before and after, within the same document."""
        for segment in self._segments:
            row = segment.row_of(sentence)
            if row is None:
                continue
            same = sentence.document.id
            before = after = None
            if row > 0 and segment.sentences[row - 1].document.id == same:
                before = segment.sentences[row - 1]
            if row + 1 < len(segment) and segment.sentences[row + 1].document.id == same:
                after = segment.sentences[row + 1]
            return before, after
        raise KeyError(sentence.id)

    @property
    def nbytes(self) -> int:
        """Memory held by this index's arrays, segments included."""
        own = 0
        if self._prepared is not None:
            own += sum(c.nbytes for c in self._prepared.contributions)
            own += sum(a.nbytes for each in self._prepared.impact for a in each.values())
            own += sum(m.nbytes for m in self._prepared.maxima)
        return own + sum(segment.nbytes for segment in self._segments)

    # -- precomputation --------------------------------------------------------------------

    def prepare(self) -> None:
        """Precompute every posting's contribution, so a query only gathers and adds.

        Long posting lists also get their order by contribution, largest first, so a query
        can stop reading them once no unread sentence could enter the top k.
        """
        if self._prepared is not None or self._empty:
            return
        union_df = self._union_df()
        contributions, impacts, maxima = [], [], []
        for segment, df in zip(self._segments, union_df, strict=True):
            postings = segment.postings
            idf_of_term = self._idf_array(df)
            idf = np.repeat(idf_of_term, postings.df)
            values = self._contribution(idf, postings.tf, postings.lengths[postings.rows])
            if segment.dead is not None:
                values[segment.dead[postings.rows]] = 0.0
            contributions.append(values)
            impact: dict[int, np.ndarray] = {}
            indptr = postings.indptr
            for local in np.flatnonzero(postings.df > _IMPACT_MIN).tolist():
                block = values[indptr[local] : indptr[local + 1]]
                impact[local] = np.argsort(-block, kind="stable")
            impacts.append(impact)
            top = np.zeros(len(postings.df), dtype=np.float64)
            nonempty = postings.df > 0  # a merge can leave terms of removed sentences empty
            if len(values):
                top[nonempty] = np.maximum.reduceat(values, indptr[:-1][nonempty])
            maxima.append(top)
        # One assignment: a query in another thread sees either none or all of it.
        self._prepared = _Prepared(contributions, impacts, maxima)

    def _union_df(self) -> list[np.ndarray]:
        """Per segment, the document frequency over the whole union of each local term."""
        own = [segment.live_df for segment in self._segments]
        union = [df.copy() for df in own]
        for i, first in enumerate(self._segments):
            for j in range(i + 1, len(self._segments)):
                second = self._segments[j]
                small, big, s, g = (first, second, i, j)
                if len(small.postings.vocabulary) > len(big.postings.vocabulary):
                    small, big, s, g = (second, first, j, i)
                lookup = big.postings.vocabulary.get
                for term, local in small.postings.vocabulary.items():
                    other = lookup(term)
                    if other is not None:
                        union[s][local] += own[g][other]
                        union[g][other] += own[s][local]
        return union

    def _idf_array(self, df: np.ndarray) -> np.ndarray:
        """The IDF of each document frequency, computed with math.log as rank-bm25 does."""
        values, inverse = np.unique(df, return_inverse=True)
        idfs = np.array([self._idf_of_df(int(v)) if v else 0.0 for v in values], dtype=np.float64)
        return idfs[inverse].reshape(df.shape)

    def _idf_of_df(self, df: int) -> float:
        n = self.corpus_size
        idf = math.log(n - df + 0.5) - math.log(df + 0.5)
        if idf > 0:
            return idf
        # rank-bm25 floors negative IDFs at epsilon * average IDF; our guard keeps it positive.
        floor = self.epsilon * self.average_idf()
        if floor <= 0:
            return self.epsilon
        return floor if idf < 0 else idf

    def _contribution(
        self, idf: float | np.ndarray, tf: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        # The same operations in the same order as BM25Okapi.get_scores, hence the same bits.
        k1, b = self.k1, self.b
        tf = tf.astype(np.float64)
        return idf * (
            tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths.astype(np.float64) / self.avgdl))
        )

    def average_idf(self) -> float:
        """rank-bm25's average IDF: the mean raw IDF, summed in order of first appearance."""
        if self._average_idf is None:
            self._average_idf = self._compute_average_idf()
        return self._average_idf

    def _compute_average_idf(self) -> float:
        # Only needed when a term is in at least half the sentences: rare, so plain Python.
        first: dict[str, tuple[int, int]] = {}
        df: dict[str, int] = {}
        for segment in self._segments:
            postings = segment.postings
            live_df = segment.live_df
            live = np.ones(len(postings.rows), dtype=bool)
            if segment.dead is not None:
                live = ~segment.dead[postings.rows]
            live_index = np.flatnonzero(live)
            term_of = np.repeat(np.arange(len(postings.terms)), postings.df)[live_index]
            present, at = np.unique(term_of, return_index=True)
            postings_at = live_index[at]
            keys = segment.order[postings.rows[postings_at]]
            ranks = postings.rank[postings_at]
            for local, key, rank in zip(
                present.tolist(), keys.tolist(), ranks.tolist(), strict=True
            ):
                term = postings.terms[local]
                df[term] = df.get(term, 0) + int(live_df[local])
                if term not in first or (key, rank) < first[term]:
                    first[term] = (key, rank)
        n = self.corpus_size
        idf_sum = 0.0
        for term in sorted(first, key=first.__getitem__):
            freq = df[term]
            idf_sum += math.log(n - freq + 0.5) - math.log(freq + 0.5)
        return idf_sum / len(first) if first else 0.0

    # -- top-k -----------------------------------------------------------------------------

    def _exhaustive_top(self, lists: list[_List], k: int) -> list[tuple[Sentence, float]]:
        """Score every touched posting (summing in query order), then pick the top k."""
        offsets = self._offsets
        if len(lists) == 1:
            only = lists[0]
            at = only.rows + offsets[only.segment] if offsets[only.segment] else only.rows
            scores = only.values
        else:
            # Sum in query order into an accumulator, exactly as rank-bm25 adds term by term.
            ordered = sorted(lists, key=lambda each: each.position)
            accumulator = self._accumulator()
            placed = []
            for each in ordered:
                here = each.rows + offsets[each.segment] if offsets[each.segment] else each.rows
                np.add.at(accumulator, here, each.values)
                placed.append(here)
            at = np.concatenate(placed)
            scores = accumulator[at]
            accumulator[at] = 0.0
            self._release(accumulator)
        # A row appears at most once per list, so the top k * len(lists) entries hold at
        # least k distinct rows: every row in the true top k scores at least that entry.
        wanted = k * len(lists)
        if len(at) > wanted:
            cut = len(scores) - wanted
            threshold = np.partition(scores, cut)[cut]
            keep = np.flatnonzero(scores >= threshold)
            at, scores = at[keep], scores[keep]
        if len(lists) > 1:
            # A row met in several lists appears several times, always with its full score.
            by_row = np.argsort(at, kind="stable")
            at, scores = at[by_row], scores[by_row]
            if len(at) > 1:
                first = np.empty(len(at), dtype=bool)
                first[0] = True
                np.not_equal(at[1:], at[:-1], out=first[1:])
                at, scores = at[first], scores[first]
        return self._best(at, scores, k)

    def _pruned_top(
        self, query: Sequence[str], lists: list[_List], k: int
    ) -> list[tuple[Sentence, float]] | None:
        """Top k reading only part of the long lists (None: pruning would not pay).

        First the best postings of each list (by contribution) give candidates whose exact
        scores set a floor `theta` under the final k-th score. If no unread posting could add
        up to theta, those candidates hold the top k (Fagin's threshold algorithm). Otherwise
        the terms whose maxima together stay below theta cannot lift a sentence into the top
        k on their own (MaxScore): only sentences holding one of the other terms are scored.
        """
        offsets = self._offsets
        total = sum(len(each.rows) for each in lists)
        maxima = [0.0] * len(query)
        for each in lists:
            maxima[each.position] = max(maxima[each.position], each.maximum)
        for depth in _DEPTHS:
            first = []
            unread = [0.0] * len(query)
            for each in lists:
                if each.impact is None or len(each.rows) <= depth:
                    rows = each.rows
                else:
                    rows = each.rows[each.impact[:depth]]
                    value = float(each.values[each.impact[depth]])
                    unread[each.position] = max(unread[each.position], value)
                first.append(rows + offsets[each.segment] if offsets[each.segment] else rows)
            at = _distinct(first)
            if len(at) < k:
                return None
            scores = self._score_candidates(at, lists)
            theta = float(np.partition(scores, len(scores) - k)[len(scores) - k])
            if _sum_in_order(unread) < theta:
                return self._best(at, scores, k)
            weak: list[float] = [0.0] * len(query)
            for position in sorted(range(len(query)), key=maxima.__getitem__):
                trial = list(weak)
                trial[position] = maxima[position]
                if _sum_in_order(trial) >= theta:
                    break
                weak = trial
            strong = [each for each in lists if weak[each.position] == 0.0]
            if sum(len(each.rows) for each in strong) <= total * _STRONG_SHARE:
                at = _distinct(
                    [
                        each.rows + offsets[each.segment] if offsets[each.segment] else each.rows
                        for each in strong
                    ]
                )
                return self._best(at, self._score_candidates(at, lists), k)
        return None

    def _score_candidates(self, at: np.ndarray, lists: list[_List]) -> np.ndarray:
        """Exact scores of distinct sorted global rows, summed in query order."""
        accumulator = self._accumulator()
        offsets = self._offsets
        touched = [at]
        for each in sorted(lists, key=lambda item: item.position):
            offset = offsets[each.segment]
            if len(each.rows) <= 8 * len(at):
                # Adding the whole list is cheaper than looking the candidates up in it.
                here = each.rows + offset if offset else each.rows
                np.add.at(accumulator, here, each.values)
                touched.append(here)
                continue
            low, high = np.searchsorted(at, (offset, offsets[each.segment + 1]))
            mine = at[low:high]
            rows = mine - offset if offset else mine
            index = np.searchsorted(each.rows, rows)
            np.minimum(index, len(each.rows) - 1, out=index)
            hit = each.rows[index] == rows
            np.add.at(accumulator, mine[hit], each.values[index[hit]])
        scores = accumulator[at]
        for rows in touched:
            accumulator[rows] = 0.0
        self._release(accumulator)
        return scores

    def _best(self, at: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[Sentence, float]]:
        """The top k of distinct rows by score, ties by document order, positive only."""
        if len(at) > 4 * k:
            cut = len(scores) - k
            keep = scores >= np.partition(scores, cut)[cut]
            at, scores = at[keep], scores[keep]
        keys = self._order_keys(at)
        best = np.lexsort((keys, -scores))[:k]
        return [(self._sentence_at(int(at[i])), float(scores[i])) for i in best if scores[i] > 0]

    def _order_keys(self, at: np.ndarray) -> np.ndarray:
        if len(self._segments) == 1:
            return self._segments[0].order[at]
        numbers = np.searchsorted(self._offset_array, at, side="right") - 1
        keys = np.empty(len(at), dtype=np.int64)
        for number in np.unique(numbers).tolist():
            mine = numbers == number
            keys[mine] = self._segments[number].order[at[mine] - self._offsets[number]]
        return keys

    def _sentence_at(self, at: int) -> Sentence:
        if len(self._segments) == 1:
            return self._segments[0].sentences[at]
        number = bisect.bisect_right(self._offsets, at) - 1
        return self._segments[number].sentences[at - self._offsets[number]]

    def _accumulator(self) -> np.ndarray:
        """A zeroed score array over every row: fresh when small, else this thread's own.

        The thread's array is taken, not lent: if a query fails midway it is simply dropped,
        so a half-used array can never be handed to the next query.
        """
        if self._rows < _SCRATCH_ROWS:
            return np.zeros(self._rows, dtype=np.float64)
        scratch = getattr(self._scratch, "scores", None)
        self._scratch.scores = None
        return scratch if scratch is not None else np.zeros(self._rows, dtype=np.float64)

    def _release(self, accumulator: np.ndarray) -> None:
        """Give back a thread's array once every touched entry is zero again."""
        if len(accumulator) >= _SCRATCH_ROWS:
            self._scratch.scores = accumulator


def _distinct(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct values of several integer arrays (a sort beats np.unique here)."""
    values = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
    values.sort()
    if len(values) > 1:
        values = values[np.concatenate(([True], values[1:] != values[:-1]))]
    return values


def _sum_in_order(values: list[float]) -> float:
    """Sum left to right, as scores are summed, so a bound compares bit-exactly."""
    total = 0.0
    for value in values:
        total += value
    return total
