"""SentenceIndex: BM25 search over segments, each query routed to the cheapest exact way.

Scores are bit for bit those of rank-bm25's BM25Okapi over the union of the segments (see
retrieval/bm25.py). Per-posting contributions are precomputed once per index (`prepare`);
until then, or when they are not worth it, the contributions of the touched postings are
computed per query. A query's postings are then scored all (retrieval/exhaustive.py) or, for
long posting lists, only as deep as can matter (retrieval/pruned.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from retrieval.bm25 import DEFAULT_B, DEFAULT_EPSILON, DEFAULT_K1, Bm25
from retrieval.exhaustive import exhaustive_top, list_maxima, small_top
from retrieval.postings import Segment
from retrieval.pruned import Impact, PostingList, impacts, pruned_top
from retrieval.rows import Hit, Rows
from retrieval.types import Sentence

# From this many rows on, each thread keeps an accumulator (zeroing a fresh one costs more
# than the query); below it, np.bincount's fresh one keeps small scopes from holding memory.
_SCRATCH_ROWS = 1 << 15
# Queries touching fewer postings than this score them all; longer ones try early stopping.
# (Scoring all is cheap per posting: below this, early stopping's overhead costs more.)
_EXHAUSTIVE_MAX = 32768
# From this many rows on, the score accumulator (8 bytes a row) outgrows the CPU caches, so
# scoring everything costs more per posting and early stopping pays from half the above.
_UNCACHED_ROWS = 1 << 18


class _Prepared(NamedTuple):
    """Per segment: every posting's contribution, each list's largest, long lists' impact order."""

    contributions: list[np.ndarray]
    impact: list[dict[int, Impact]]
    maxima: list[np.ndarray]

    @property
    def nbytes(self) -> int:
        """Memory held by these arrays."""
        own = sum(c.nbytes for c in self.contributions)
        own += sum(
            array.nbytes
            for each in self.impact
            for impact in each.values()
            for array in (*impact[:3], *(impact.bits or ()))
        )
        return own + sum(m.nbytes for m in self.maxima)


class SentenceIndex:
    """An immutable BM25 index over sentences in document order (see `Bm25` for its guards)."""

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
        self._segments = [segment for segment in segments if len(segment)]
        self._bm25 = Bm25(self._segments, k1=k1, b=b, epsilon=epsilon)
        self._rows = Rows(self._segments)
        self.k1 = k1
        self.b = b
        self.epsilon = epsilon
        self.corpus_size = self._bm25.corpus_size
        self.avgdl = self._bm25.avgdl
        self._empty = self._bm25.empty
        self._prepared: _Prepared | None = None
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
        return self._bm25.idf(term)

    def document_frequency(self, term: str) -> int:
        """In how many live sentences the term occurs."""
        return self._bm25.document_frequency(term)

    def average_idf(self) -> float:
        """rank-bm25's average IDF: the mean raw IDF, summed in order of first appearance."""
        return self._bm25.average_idf()

    def search(self, query: Sequence[str], k: int) -> list[tuple[Sentence, float]]:
        """The k best sentences with positive scores; ties go to the earlier sentence."""
        if self._empty or not query or k <= 0:
            return []
        # Small queries spend most of their time here and in the selection, not in numpy's
        # work on postings: the loops keep to plain tuples, ints and bound methods.
        rows = self._rows
        lookups = rows.lookups if rows.lookups is not None else rows.make_lookups()
        prepared = self._prepared
        hits: list[Hit] = []
        total = 0
        if len(lookups) == 1:
            get, indptr = lookups[0].get, lookups[0].indptr
            for term in query:
                local = get(term)
                if local is not None:
                    start, end = indptr[local], indptr[local + 1]
                    if start != end:  # a merge can leave a term of removed rows without any
                        hits.append((0, local, start, end, term))
                        total += end - start
            matched = len(hits)
            if (
                prepared is not None
                and rows.count < _SCRATCH_ROWS
                and hits
                and total <= _EXHAUSTIVE_MAX
            ):
                return small_top(
                    hits,
                    total,
                    k,
                    lookups[0].rows,
                    prepared.contributions[0],
                    rows.sentence_lists[0],
                )
        else:
            # In query order, term by term: the order in which scores must be summed.
            matched = 0  # query terms with postings: the most lists a row can be in
            for term in query:
                before = len(hits)
                for number, lookup in enumerate(lookups):
                    local = lookup.get(term)
                    if local is not None:
                        start, end = lookup.indptr[local], lookup.indptr[local + 1]
                        if start != end:
                            hits.append((number, local, start, end, term))
                            total += end - start
                matched += len(hits) > before
        if not hits:
            return []
        limit = _EXHAUSTIVE_MAX if rows.count < _UNCACHED_ROWS else _EXHAUSTIVE_MAX // 2
        if total > limit and prepared is not None:
            found = pruned_top(rows, self._lists(hits, prepared), k)
            if found is not None:
                return found
        return self._exhaustive_top(hits, matched, total, k)

    def _exhaustive_top(
        self, hits: list[Hit], matched: int, total: int, k: int
    ) -> list[tuple[Sentence, float]]:
        """Every touched posting's row and contribution (prepared or computed now), scored."""
        prepared = self._prepared
        lookups = self._rows.lookups
        assert lookups is not None
        row_parts, value_parts = [], []
        for number, _, start, end, term in hits:
            row_parts.append(lookups[number].rows[start:end])
            if prepared is not None:
                value_parts.append(prepared.contributions[number][start:end])
            else:
                segment = self._segments[number]
                value_parts.append(self._bm25.live_values(term, segment, start, end))
        return exhaustive_top(
            self._rows,
            hits,
            matched,
            total,
            row_parts,
            value_parts,
            k,
            large=self._rows.count >= _SCRATCH_ROWS,
            maxima=prepared.maxima if prepared is not None else None,
        )

    def _lists(self, hits: list[Hit], prepared: _Prepared) -> list[PostingList]:
        """The hits' postings (prepared) with long lists' contribution order, in query order."""
        lookups = self._rows.lookups
        assert lookups is not None
        lists = []
        for number, local, start, end, _ in hits:
            lookup = lookups[number]
            lists.append(
                PostingList(
                    lookup.offset,
                    lookup.size,
                    lookup.rows[start:end],
                    prepared.contributions[number][start:end],
                    prepared.impact[number].get(local),
                )
            )
        return lists

    def row_score(self, segment: Segment, row: int, query: Sequence[str]) -> float:
        """One row's BM25 score for the query: the bits BM25Okapi.get_scores gives it.

        Terms are added in query order, repeats included, as rank-bm25 adds them.
        """
        return self._bm25.row_score(segment, row, query)

    def bm25_of(self, sentence: Sentence, query: Sequence[str]) -> float:
        """The sentence's BM25 score for the query (0 when it is not in this index)."""
        for segment in self._segments:
            row = segment.row_of(sentence)
            if row is not None:
                return self.row_score(segment, row, query)
        return 0.0

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
            own += self._prepared.nbytes + self._rows.nbytes
        return own + sum(segment.nbytes for segment in self._segments)

    # -- precomputation --------------------------------------------------------------------

    def prepare(self) -> None:
        """Precompute every posting's contribution, so a query only gathers and adds.

        Long posting lists also get their order by contribution, largest first, so a query
        can stop reading them once no unread sentence could enter the top k.
        """
        if self._prepared is not None or self._empty:
            return
        bm25 = self._bm25
        union_df = bm25.union_df()
        contributions, impact, maxima = [], [], []
        for segment, df in zip(self._segments, union_df, strict=True):
            postings = segment.postings
            idf_of_term = bm25.idf_array(df)
            idf = np.repeat(idf_of_term, postings.df)
            values = bm25.contribution(idf, postings.tf, postings.lengths[postings.rows])
            if segment.dead is not None:
                values[segment.dead[postings.rows]] = 0.0
            contributions.append(values)
            maxima.append(list_maxima(values, postings.indptr))
            impact.append(impacts(values, postings, len(segment)))
        self._rows.prepare_ties()
        # One assignment: a query in another thread sees either none or all of it.
        self._prepared = _Prepared(contributions, impact, maxima)
