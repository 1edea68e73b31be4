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

import math
import threading
from collections.abc import Iterable, Sequence

import numpy as np

from retrieval.postings import Segment
from retrieval.types import Sentence

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25
# Below this many rows a fresh zeroed accumulator per query is cheaper than a cached one.
_SCRATCH_ROWS = 1 << 16


class SentenceIndex:
    """An immutable BM25 index over sentences in document order.

    rank-bm25 divides by zero on an empty corpus and, on a tiny one, can give every term a
    negative IDF; both are guarded here so a question never crashes or scores silently zero.
    Where rank-bm25 would floor IDFs at a non-positive value (epsilon times a non-positive
    average IDF, only possible with one or two sentences), every term with IDF <= 0 gets
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
        if len(sentences) != len(terms):
            raise ValueError("every sentence needs its terms")
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
        self._rows = self._offsets[-1]
        self.corpus_size = sum(segment.live_count for segment in self._segments)
        total_length = sum(segment.live_length for segment in self._segments)
        # rank-bm25: avgdl = num_doc / corpus_size, both ints.
        self.avgdl = total_length / self.corpus_size if self.corpus_size else 0.0
        self._empty = self.corpus_size == 0 or total_length == 0
        self._average_idf: float | None = None
        self._contributions: list[np.ndarray] | None = None
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

    @property
    def prepared(self) -> bool:
        """Whether per-posting contributions are precomputed (the fast path)."""
        return self._contributions is not None

    def idf(self, term: str) -> float:
        """The IDF BM25 gives a term; an unseen term gets the IDF of document frequency 0."""
        if self._empty:
            return 0.0
        df = self.document_frequency(term)
        if df == 0:
            n = self.corpus_size
            return math.log(n + 0.5) - math.log(0.5)
        return self._idf_of_df(df)

    def document_frequency(self, term: str) -> int:
        """In how many live sentences the term occurs."""
        df = 0
        for segment in self._segments:
            local = segment.postings.vocabulary.get(term)
            if local is not None:
                df += int(segment.live_df[local])
        return df

    def max_score(self, query: Sequence[str]) -> float:
        """An upper bound on any sentence's score for this query (every term, very often)."""
        return sum(max(self.idf(term), 0.0) * (self.k1 + 1) for term in query)

    def search(self, query: Sequence[str], k: int) -> list[tuple[Sentence, float]]:
        """The k best sentences with positive scores; ties go to the earlier sentence."""
        if self._empty or not query or k <= 0:
            return []
        contributions = self._contributions
        chunks: list[tuple[int, np.ndarray, np.ndarray]] = []
        for term in query:
            idf: float | None = None
            for number, segment in enumerate(self._segments):
                local = segment.postings.vocabulary.get(term)
                if local is None:
                    continue
                postings = segment.postings
                start, end = int(postings.indptr[local]), int(postings.indptr[local + 1])
                rows = postings.rows[start:end]
                if contributions is not None:
                    values = contributions[number][start:end]
                else:
                    if idf is None:
                        idf = self._idf_of_df(self.document_frequency(term))
                    values = self._contribution(idf, postings.tf[start:end], postings.lengths[rows])
                    if segment.dead is not None:
                        alive = ~segment.dead[rows]
                        rows, values = rows[alive], values[alive]
                chunks.append((number, rows, values))
        if not chunks:
            return []
        return self._top(chunks, k)

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
        own = sum(c.nbytes for c in self._contributions) if self._contributions else 0
        return own + sum(segment.nbytes for segment in self._segments)

    # -- precomputation --------------------------------------------------------------------

    def prepare(self) -> None:
        """Precompute every posting's contribution, so a query only gathers and adds."""
        if self._contributions is not None or self._empty:
            return
        union_df = self._union_df()
        contributions = []
        for segment, df in zip(self._segments, union_df, strict=True):
            postings = segment.postings
            idf_of_term = self._idf_array(df)
            idf = np.repeat(idf_of_term, postings.df)
            values = self._contribution(idf, postings.tf, postings.lengths[postings.rows])
            if segment.dead is not None:
                values[segment.dead[postings.rows]] = 0.0
            contributions.append(values)
        # One assignment: a query in another thread sees either none or all of them.
        self._contributions = contributions

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

    def _top(
        self, chunks: list[tuple[int, np.ndarray, np.ndarray]], k: int
    ) -> list[tuple[Sentence, float]]:
        offsets = self._offsets
        if len(chunks) == 1:
            number, rows, scores = chunks[0]
            at = rows + offsets[number] if offsets[number] else rows
        else:
            # Sum in query order into an accumulator, exactly as rank-bm25 adds term by term.
            accumulator = self._accumulator()
            placed = []
            for number, rows, values in chunks:
                here = rows + offsets[number] if offsets[number] else rows
                accumulator[here] += values
                placed.append(here)
            at = np.concatenate(placed)
            scores = accumulator[at]
            accumulator[at] = 0.0
        positive = scores > 0
        if not positive.all():
            at, scores = at[positive], scores[positive]
        if len(at) == 0:
            return []
        # A row appears at most once per chunk, so the top k * len(chunks) entries hold at
        # least k distinct rows: every row in the true top k scores at least that entry.
        wanted = k * len(chunks)
        if len(at) > wanted:
            cut = len(scores) - wanted
            threshold = np.partition(scores, cut)[cut]
            keep = scores >= threshold
            at, scores = at[keep], scores[keep]
        if len(chunks) > 1:
            at, first = np.unique(at, return_index=True)
            scores = scores[first]
        keys = self._order_keys(at)
        best = np.lexsort((keys, -scores))[:k]
        return [(self._sentence_at(int(at[i])), float(scores[i])) for i in best]

    def _order_keys(self, at: np.ndarray) -> np.ndarray:
        if len(self._segments) == 1:
            return self._segments[0].order[at]
        numbers = np.searchsorted(self._offsets, at, side="right") - 1
        keys = np.empty(len(at), dtype=np.int64)
        for number in np.unique(numbers).tolist():
            mine = numbers == number
            keys[mine] = self._segments[number].order[at[mine] - self._offsets[number]]
        return keys

    def _sentence_at(self, at: int) -> Sentence:
        number = int(np.searchsorted(self._offsets, at, side="right")) - 1
        return self._segments[number].sentences[at - self._offsets[number]]

    def _accumulator(self) -> np.ndarray:
        if self._rows < _SCRATCH_ROWS:
            return np.zeros(self._rows, dtype=np.float64)
        scratch = getattr(self._scratch, "scores", None)
        if scratch is None:
            scratch = self._scratch.scores = np.zeros(self._rows, dtype=np.float64)
        return scratch
