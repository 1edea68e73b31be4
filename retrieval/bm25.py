"""Exact BM25 over a union of segments: IDFs and contributions, bit for bit as BM25Okapi's.

Every score is computed with the same floating-point operations, in the same order, as
`BM25Okapi.get_scores` on the same collection, so scores are bit-for-bit equal:

    idf(q) * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl)))

summed over the query's terms in query order (a sentence without the term adds 0.0, which
changes nothing). The collection may be several segments (a scope's documents and the global
ones); its statistics (sentence count, average length, document frequencies) are those of the
union.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from retrieval.postings import Segment

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25


class Bm25:
    """BM25's parameters and the statistics of a union of segments, with rank-bm25's formulas.

    rank-bm25 divides by zero on an empty corpus and, on a tiny one, can give every term a
    negative IDF; both are guarded here so a question never crashes or scores silently zero.
    Where rank-bm25 would floor IDFs at a non-positive value (epsilon times a non-positive
    average IDF, which takes a very small collection), every term with IDF <= 0 gets
    `epsilon` instead: the one place scores deliberately differ from rank-bm25.
    """

    def __init__(self, segments: list[Segment], *, k1: float, b: float, epsilon: float) -> None:
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self._segments = segments
        self.corpus_size = sum(segment.live_count for segment in segments)
        total_length = sum(segment.live_length for segment in segments)
        # rank-bm25: avgdl = num_doc / corpus_size, both ints.
        self.avgdl = total_length / self.corpus_size if self.corpus_size else 0.0
        self.empty = self.corpus_size == 0 or total_length == 0
        self._average_idf: float | None = None

    def idf(self, term: str) -> float:
        """The IDF BM25 gives a term; an unseen term gets the IDF of document frequency 0."""
        if self.empty:
            return 0.0
        return self.idf_of_df(self.document_frequency(term))

    def document_frequency(self, term: str) -> int:
        """In how many live sentences the term occurs."""
        df = 0
        for segment in self._segments:
            local = segment.postings.vocabulary.get(term)
            if local is not None:
                df += int(segment.live_df[local])
        return df

    def live_values(self, term: str, segment: Segment, start: int, end: int) -> np.ndarray:
        """Contributions computed now from term frequencies (before `prepare`)."""
        postings = segment.postings
        rows = postings.rows[start:end]
        idf = self.idf_of_df(self.document_frequency(term))
        values = self.contribution(idf, postings.tf[start:end], postings.lengths[rows])
        if segment.dead is not None:
            values[segment.dead[rows]] = 0.0  # removed sentences score nothing
        return values

    def row_score(self, segment: Segment, row: int, query: Sequence[str]) -> float:
        """One row's BM25 score for the query: the bits BM25Okapi.get_scores gives it.

        Terms are added in query order, repeats included, as rank-bm25 adds them.
        """
        if segment.dead is not None and segment.dead[row]:
            return 0.0
        postings = segment.postings
        length = postings.lengths[row : row + 1]
        score = 0.0
        for j, start, end in segment.posting_lists(query):
            at = start + int(postings.rows[start:end].searchsorted(row))
            if at < end and postings.rows[at] == row:
                tf = postings.tf[at : at + 1]
                score += float(self.contribution(self.idf(query[j]), tf, length)[0])
        return score

    def union_df(self) -> list[np.ndarray]:
        """Per segment, the document frequency over the whole union of each local term.

        A pass at C speed over every segment's vocabulary but the largest one's (in a scope
        that is usually most of the terms), not a Python loop per pair of segments: after a
        bulk add a scope has tens of segments.
        """
        segments = self._segments
        own = [segment.live_df for segment in segments]
        if len(segments) == 1:
            return own
        largest = max(range(len(segments)), key=lambda i: len(segments[i].postings.vocabulary))
        others = [i for i in range(len(segments)) if i != largest]
        # The other segments' terms get ids in one shared numbering, at C speed.
        numbering: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        ids = [
            np.fromiter(
                map(numbering.__getitem__, segments[i].postings.terms),
                dtype=np.int64,
                count=len(own[i]),
            )
            for i in others
        ]
        counted = np.zeros(len(numbering), dtype=np.int64)
        for i, mine in zip(others, ids, strict=True):
            counted[mine] += own[i]  # a segment's ids are distinct: a plain add
        in_largest = segments[largest].postings.vocabulary
        there = np.fromiter(
            map(in_largest.get, numbering, itertools.repeat(-1)),
            dtype=np.int64,
            count=len(numbering),
        )
        shared = (there >= 0).nonzero()[0]
        union = list(own)
        union[largest] = own[largest].copy()
        union[largest][there[shared]] += counted[shared]
        counted[shared] += own[largest][there[shared]]
        for i, mine in zip(others, ids, strict=True):
            union[i] = counted[mine]
        return union

    def idf_array(self, df: np.ndarray) -> np.ndarray:
        """The IDF of each document frequency, computed with math.log as rank-bm25 does."""
        values, inverse = np.unique(df, return_inverse=True)
        idfs = np.array([self.idf_of_df(int(v)) if v else 0.0 for v in values], dtype=np.float64)
        return idfs[inverse].reshape(df.shape)

    def idf_of_df(self, df: int) -> float:
        """The IDF of a document frequency, with rank-bm25's floor (and our guard on it)."""
        n = self.corpus_size
        idf = math.log(n - df + 0.5) - math.log(df + 0.5)
        if idf > 0:
            return idf
        # rank-bm25 floors negative IDFs at epsilon * average IDF; our guard keeps it positive.
        floor = self.epsilon * self.average_idf()
        if floor <= 0:
            return self.epsilon
        return floor if idf < 0 else idf

    def contribution(
        self, idf: float | np.ndarray, tf: np.ndarray, lengths: np.ndarray
    ) -> np.ndarray:
        """What postings with these term frequencies, in rows this long, add to a score."""
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
