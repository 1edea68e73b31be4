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
import functools
import itertools
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

from retrieval.postings import Segment
from retrieval.types import Sentence

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25
# From this many rows on, each thread keeps an accumulator (zeroing a fresh one costs more
# than the query); below it, np.bincount's fresh one keeps small scopes from holding memory.
_SCRATCH_ROWS = 1 << 15
# Queries touching fewer postings than this score them all; longer ones try early stopping.
# (Scoring all is cheap per posting: below this, early stopping's overhead costs more.)
_EXHAUSTIVE_MAX = 32768
# From this many rows on, the score accumulator (8 bytes a row) outgrows the CPU caches, so
# scoring everything costs more per posting and early stopping pays from half the above.
_UNCACHED_ROWS = 1 << 18
# Above this many touched postings, a floor from one list cuts them before the selection.
_FLOOR_MIN = 1024
# From this many touched postings on, a large index adds list by list (no concatenated copy)
# and leaves weak lists out of the selection; below, fewer numpy calls pay more.
_LIST_BY_LIST = 4096
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
# Up to this many scored entries, the final ordering is a Python sort of tuples.
_PYTHON_SORT = 64
# Up to this many values, the k-th largest is found by sorting them all, not partitioning.
_SORT_SELECT = 512
# Bit masks for the bitset look-ups: the bits below each position in a 64-bit word.
_BELOW = np.array([(1 << shift) - 1 for shift in range(64)], dtype=np.uint64)
_ONE = np.uint64(1)
_LOW_SIX = np.uint64(63)
# A cost no depth combination reaches: the ones whose bound is not below theta.
_NEVER = np.iinfo(np.int64).max


class _Bits(NamedTuple):
    """A list's rows as a bitset, 64 rows a word, and how many rows come before each word."""

    words: np.ndarray
    ranks: np.ndarray


class _Impact(NamedTuple):
    """A long list's rows by contribution, best first, and depths worth reading to.

    `unread[i]` is the best contribution left after reading `ladder[i]` postings. A dense
    enough list also has its rows as a bitset, where a row's position is found by counting.
    """

    ranked: np.ndarray
    ladder: np.ndarray
    unread: np.ndarray
    bits: _Bits | None


class _List(NamedTuple):
    """One query term's postings in one segment (rows local, `offset` makes them global)."""

    offset: int
    size: int
    rows: np.ndarray
    values: np.ndarray
    impact: _Impact | None


class _Lookup(NamedTuple):
    """What a query needs of one segment to find its terms' postings, at hand."""

    get: Callable[[str], int | None]
    indptr: list[int]
    rows: np.ndarray
    offset: int
    size: int


# A query term's postings in one segment: (segment number, local term, start, end, term).
_Hit = tuple[int, int, int, int, str]


class _Prepared(NamedTuple):
    """Per segment: every posting's contribution, and long lists' order by contribution.

    With several segments, ties between them go by order keys: when the rows follow order
    keys across segments too (as when each segment's documents all come after the previous
    segment's), every row's sentence, so rows alone decide; otherwise every row's order key.
    """

    contributions: list[np.ndarray]
    impact: list[dict[int, _Impact]]
    maxima: list[np.ndarray]
    keys: np.ndarray | None
    sentences: list[Sentence] | None


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
        self._sentence_lists = [segment.sentences for segment in self._segments]
        self._lookups: list[_Lookup] | None = None

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
        # Small queries spend most of their time here and in the selection, not in numpy's
        # work on postings: the loops keep to plain tuples, ints and bound methods.
        lookups = self._lookups if self._lookups is not None else self._make_lookups()
        prepared = self._prepared
        hits: list[_Hit] = []
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
                and self._rows < _SCRATCH_ROWS
                and hits
                and total <= _EXHAUSTIVE_MAX
            ):
                return self._small_top(hits, total, k, lookups[0].rows, prepared.contributions[0])
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
        limit = _EXHAUSTIVE_MAX if self._rows < _UNCACHED_ROWS else _EXHAUSTIVE_MAX // 2
        if total > limit and prepared is not None:
            found = self._pruned_top(self._lists(hits), k)
            if found is not None:
                return found
        return self._exhaustive_top(hits, matched, total, k)

    def _small_top(
        self, hits: list[_Hit], total: int, k: int, rows: np.ndarray, contributions: np.ndarray
    ) -> list[tuple[Sentence, float]]:
        """`search` in a small prepared index of one segment, for up to _EXHAUSTIVE_MAX postings.

        The common case, where a query's fixed costs are most of its time: the hits' postings
        are summed with one np.bincount, whose fresh zeroed array is cheap at this size.
        np.bincount adds each row's contributions one by one in the order given (query order)
        to 0.0, exactly as rank-bm25 adds term by term.
        """
        sentences = self._sentence_lists[0]
        if len(hits) == 1:
            _, _, start, end, _ = hits[0]
            return _top_in_segment(rows[start:end], contributions[start:end], k, 1, sentences)
        row_parts, value_parts = [], []
        for _, _, start, end, _ in hits:
            row_parts.append(rows[start:end])
            value_parts.append(contributions[start:end])
        at = np.concatenate(row_parts)
        values = np.concatenate(value_parts)
        scores = np.bincount(at, values)[at]
        if total > _FLOOR_MIN:
            at, scores = _above_floor(at, scores, [len(part) for part in row_parts], k)
        return _top_in_segment(at, scores, k, len(hits), sentences)

    def _make_lookups(self) -> list[_Lookup]:
        lookups = [
            _Lookup(s.postings.vocabulary.get, s.indptr_list, s.postings.rows, offset, len(s))
            for s, offset in zip(self._segments, self._offsets, strict=False)
        ]
        self._lookups = lookups  # built whole, then published (other threads may query)
        return lookups

    def _lists(self, hits: list[_Hit]) -> list[_List]:
        """The hits' postings (prepared) with long lists' contribution order, in query order."""
        prepared = self._prepared
        assert prepared is not None
        lookups = self._lookups
        assert lookups is not None
        lists = []
        for number, local, start, end, _ in hits:
            lookup = lookups[number]
            lists.append(
                _List(
                    lookup.offset,
                    lookup.size,
                    lookup.rows[start:end],
                    prepared.contributions[number][start:end],
                    prepared.impact[number].get(local),
                )
            )
        return lists

    def _live_values(self, term: str, segment: Segment, start: int, end: int) -> np.ndarray:
        """Contributions computed now from term frequencies (before `prepare`)."""
        postings = segment.postings
        rows = postings.rows[start:end]
        idf = self._idf_of_df(self.document_frequency(term))
        values = self._contribution(idf, postings.tf[start:end], postings.lengths[rows])
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
                score += float(self._contribution(self.idf(query[j]), tf, length)[0])
        return score

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
            own += sum(c.nbytes for c in self._prepared.contributions)
            own += sum(
                array.nbytes
                for each in self._prepared.impact
                for impact in each.values()
                for array in (*impact[:3], *(impact.bits or ()))
            )
            own += sum(m.nbytes for m in self._prepared.maxima)
            if self._prepared.keys is not None:
                own += self._prepared.keys.nbytes
            if self._prepared.sentences is not None:
                own += 8 * len(self._prepared.sentences)  # the list's references
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
            maxima.append(_list_maxima(values, postings.indptr))
            impact: dict[int, _Impact] = {}
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
                if len(block) * _BITS_DENSITY >= len(segment):
                    bits = _bitset(rows, len(segment))
                impact[local] = _Impact(ranked, ladder, unread, bits)
            impacts.append(impact)
        # Either way 8 bytes a row, and no search for each row's segment per query.
        keys, sentences = None, None
        if len(self._segments) > 1:
            keys = np.concatenate([segment.order for segment in self._segments])
            if bool((keys[1:] > keys[:-1]).all()):
                keys, sentences = None, list(itertools.chain(*self._sentence_lists))
        # One assignment: a query in another thread sees either none or all of it.
        self._prepared = _Prepared(contributions, impacts, maxima, keys, sentences)

    def _union_df(self) -> list[np.ndarray]:
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

    def _exhaustive_top(
        self, hits: list[_Hit], matched: int, total: int, k: int
    ) -> list[tuple[Sentence, float]]:
        """Score every touched posting (summing in query order), then pick the top k.

        `matched` query terms have postings: a row is in at most that many of the hits,
        which hold `total` postings.
        """
        prepared = self._prepared
        lookups = self._lookups
        assert lookups is not None
        row_parts, value_parts = [], []
        for number, _, start, end, term in hits:
            row_parts.append(lookups[number].rows[start:end])
            if prepared is not None:
                value_parts.append(prepared.contributions[number][start:end])
            else:
                value_parts.append(self._live_values(term, self._segments[number], start, end))
        if len(hits) == 1:
            offset = lookups[hits[0][0]].offset
            rows = row_parts[0]
            return self._best(rows + offset if offset else rows, value_parts[0], k, 1)
        large = self._rows >= _SCRATCH_ROWS
        if large and total >= _LIST_BY_LIST and prepared is not None:
            return self._accumulated_top(hits, matched, row_parts, value_parts, k)
        at = np.concatenate(row_parts)
        if len(lookups) > 1:
            # Local rows to global ones in one pass, not one small array per hit.
            offsets = np.array([lookups[hit[0]].offset for hit in hits], dtype=np.intp)
            at += offsets.repeat([hit[3] - hit[2] for hit in hits])
        values = np.concatenate(value_parts)
        # Both add each row's contributions one by one in the order given (query order) to
        # 0.0, exactly as rank-bm25 adds term by term (adding 0.0 elsewhere changes nothing).
        if not large:
            scores = np.bincount(at, values)[at]  # its zeroed array is small: fresh is cheap
        else:
            accumulator = self._accumulator()
            np.add.at(accumulator, at, values)
            scores = accumulator[at]
            self._release(accumulator, at)
        if len(at) > _FLOOR_MIN:
            at, scores = _above_floor(at, scores, [len(rows) for rows in row_parts], k)
        return self._best(at, scores, k, matched)

    def _accumulated_top(
        self,
        hits: list[_Hit],
        matched: int,
        row_parts: list[np.ndarray],
        value_parts: list[np.ndarray],
        k: int,
    ) -> list[tuple[Sentence, float]]:
        """`_exhaustive_top` for many postings in a large index: list by list, no copies.

        Lists are added in query order, as rank-bm25 adds them. The k-th best full score
        among one list's rows is a floor under the k-th best overall; a sentence found only
        in lists whose largest contributions add up to less than it cannot be in the top k,
        so those lists (common terms: most postings) are left out of the selection.
        """
        lookups = self._lookups
        prepared = self._prepared
        assert lookups is not None and prepared is not None
        accumulator = self._accumulator()
        # Each segment's part of the accumulator as a view: its local rows need no offset.
        views = {
            number: accumulator[lookups[number].offset :][: lookups[number].size]
            for number in {hit[0] for hit in hits}
        }
        tops = []
        for position, ((number, local, *_), rows, values) in enumerate(
            zip(hits, row_parts, value_parts, strict=True)
        ):
            if position == 0:
                views[number][rows] = values  # 0.0 + x is x: contributions are never -0.0
            else:
                np.add.at(views[number], rows, values)  # each list's rows are distinct
            tops.append(prepared.maxima[number].item(local))
        # The floor comes from the shortest list that has k sentences (any would do).
        theta = None
        floor = min(
            (i for i, rows in enumerate(row_parts) if len(rows) >= k),
            key=lambda i: len(row_parts[i]),
            default=None,
        )
        if floor is not None:
            theta = _kth_largest(views[hits[floor][0]][row_parts[floor]], k)
        skipped = _skippable(tops, theta) if theta is not None else set()
        kept = [
            rows + lookups[hit[0]].offset if lookups[hit[0]].offset else rows
            for position, (hit, rows) in enumerate(zip(hits, row_parts, strict=True))
            if position not in skipped
        ]
        at = np.concatenate(kept) if len(kept) > 1 else kept[0]
        scores = accumulator[at]
        for hit, rows in zip(hits, row_parts, strict=True):
            views[hit[0]][rows] = 0.0
        self._scratch.scores = accumulator
        if theta is not None:
            keep = (scores >= theta).nonzero()[0]
            at, scores = at[keep], scores[keep]
        return self._best(at, scores, k, matched)

    def _pruned_top(self, lists: list[_List], k: int) -> list[tuple[Sentence, float]] | None:
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
        at, scores = self._score_candidates(_distinct(seeds), lists, read_whole)
        if len(at) < k:
            return None
        theta = float(_kth_largest(scores, k))
        if theta <= 0.0:
            return None
        if _seeds_suffice(lists, theta):
            return self._best(at, scores, k, 1)
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
                rows = each.rows if whole else each.impact.ranked[:depth]
                parts.append(_global(rows, each.offset))
                in_order = in_order and whole
        if len(parts) > 1:
            # The seeds stay candidates, so the new k-th score is at least theta.
            at, scores = self._score_candidates(
                _distinct(parts, in_order), lists, read_whole, theta
            )
        keep = (scores >= theta).nonzero()[0]  # the top k score theta at least
        return self._best(at[keep], scores[keep], k, 1)

    def _score_candidates(
        self, at: np.ndarray, lists: list[_List], whole: list[bool], floor: float | None = None
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
        slots = self._slot_map(narrow)
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
        if narrow:
            self._scratch.narrow = slots
        else:
            self._scratch.slots = slots
        if floor is not None and any(c is None for c in known):
            # Summed in query order from upper bounds, so it bounds the float score too.
            bound = np.zeros(len(at), dtype=np.float64)
            for each, contribution in zip(lists, known, strict=True):
                bound += _maximum(each) if contribution is None else contribution
            keep = (bound >= floor).nonzero()[0]
            at = at[keep]
            known = [None if c is None else c[keep] for c in known]
        scores = np.zeros(len(at), dtype=np.float64)
        for each, contribution in zip(lists, known, strict=True):
            scores += self._look_up(at, each) if contribution is None else contribution
        return at, scores

    def _look_up(self, at: np.ndarray, each: _List) -> np.ndarray:
        """Each candidate's contribution from one list (0.0 where absent).

        Found through the list's bitset when it has one (a rank count per candidate), else by
        binary search in its rows.
        """
        contribution = np.zeros(len(at), dtype=np.float64)
        if len(self._segments) > 1:
            low, high = np.searchsorted(at, (each.offset, each.offset + each.size)).tolist()
            local = at[low:high] - each.offset
        else:
            low, high, local = 0, len(at), at
        bits = each.impact.bits if each.impact is not None else None
        if len(local) and bits is not None:
            word_of = local >> 6
            words = bits.words[word_of]
            shift = local.view(np.uint64) & _LOW_SIX  # rows are intp: 64 bits
            hit = ((words >> shift) & _ONE).nonzero()[0]  # most candidates are not there
            word_of, words, shift = word_of[hit], words[hit], shift[hit]
            rank = bits.ranks[word_of] + np.bitwise_count(words & _BELOW[shift])
            contribution[low + hit] = each.values[rank]
        elif len(local):
            rows = each.rows
            index = np.searchsorted(rows, local)
            np.minimum(index, len(rows) - 1, out=index)
            hit = (rows[index] == local).nonzero()[0]  # positions: cheaper than a mask twice
            contribution[low + hit] = each.values[index[hit]]
        return contribution

    def _best(
        self, at: np.ndarray, scores: np.ndarray, k: int, repeats: int
    ) -> list[tuple[Sentence, float]]:
        """The top k rows by score, ties by document order, positive scores only.

        A row may appear up to `repeats` times (once per list), always with its full score,
        so the best k * repeats entries hold the best k distinct rows.
        """
        if len(self._segments) == 1:
            return _top_in_segment(at, scores, k, repeats, self._sentence_lists[0])
        prepared = self._prepared
        if prepared is not None and prepared.sentences is not None:
            return _top_in_segment(at, scores, k, repeats, prepared.sentences)
        wanted = k * repeats
        if len(at) > 2 * wanted:
            keep = (scores >= _kth_largest(scores, wanted)).nonzero()[0]
            at, scores = at[keep], scores[keep]
        if prepared is not None and prepared.keys is not None:
            keys = prepared.keys[at]
        else:
            keys = self._order_keys(at)
        if len(at) > _PYTHON_SORT:
            order = np.lexsort((keys, -scores))
            at, scores, keys = at[order], scores[order], keys[order]
        rows = at.tolist()
        ranked = zip((-scores).tolist(), keys.tolist(), rows, strict=True)
        if len(at) <= _PYTHON_SORT:
            ranked = iter(sorted(ranked))
        found = []
        last = -1
        offsets = self._offsets
        lists = self._sentence_lists
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
            keys[mine] = self._segments[number].order[at[mine] - self._offsets[number]]
        return keys

    def _accumulator(self) -> np.ndarray:
        """A zeroed score array over every row, this thread's own.

        The thread's array is taken, not lent: if a query fails midway it is simply dropped,
        so a half-used array can never be handed to the next query.
        """
        scratch = getattr(self._scratch, "scores", None)
        self._scratch.scores = None
        return scratch if scratch is not None else np.zeros(self._rows, dtype=np.float64)

    def _slot_map(self, narrow: bool = False) -> np.ndarray:
        """A row -> candidate map, -1 everywhere: this thread's own, taken like the scores.

        `narrow`: int16, for fewer than _NARROW_SLOTS candidates (half the memory to read).
        """
        name = "narrow" if narrow else "slots"
        slots = getattr(self._scratch, name, None)
        setattr(self._scratch, name, None)
        if slots is None:
            slots = np.full(self._rows, -1, dtype=np.int16 if narrow else np.int32)
        return slots

    def _release(self, accumulator: np.ndarray, touched: np.ndarray) -> None:
        """Give back this thread's array with its touched entries zeroed."""
        accumulator[touched] = 0.0
        self._scratch.scores = accumulator


def _global(rows: np.ndarray, offset: int) -> np.ndarray:
    return rows + offset if offset else rows


def _top_in_segment(
    at: np.ndarray, scores: np.ndarray, k: int, repeats: int, sentences: Sequence[Sentence]
) -> list[tuple[Sentence, float]]:
    """`SentenceIndex._best` where rows follow order keys (within a segment they do)."""
    wanted = k * repeats
    count = len(at)
    if count > 2 * wanted:
        copy = scores.copy()  # the k-th largest, as _kth_largest finds it, without the call
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
    keep = (scores >= _kth_largest(piece, k)).nonzero()[0]
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


def _list_maxima(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The largest contribution in each term's list (0.0 for a term without postings)."""
    maxima = np.zeros(len(indptr) - 1, dtype=np.float64)
    starts = indptr[:-1]
    present = (indptr[1:] > starts).nonzero()[0]
    if len(present):
        maxima[present] = np.maximum.reduceat(values, starts[present])
    return maxima


def _kth_largest(values: np.ndarray, k: int) -> np.float64:
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


def _maximum(each: _List) -> float:
    """The largest contribution in a list."""
    return float(each.impact.unread[0]) if each.impact is not None else float(each.values.max())


def _bitset(rows: np.ndarray, size: int) -> _Bits:
    """The bitset of ascending distinct rows below size, with each word's rank."""
    word_of = rows >> 6
    starts = np.flatnonzero(np.concatenate(([True], word_of[1:] != word_of[:-1])))
    words = np.zeros((size + 63) // 64, dtype=np.uint64)
    bit = np.left_shift(_ONE, (rows & 63).astype(np.uint64))
    words[word_of[starts]] = np.bitwise_or.reduceat(bit, starts)
    ranks = np.zeros(len(words), dtype=np.int32)
    np.cumsum(np.bincount(word_of, minlength=len(words))[:-1], out=ranks[1:])
    return _Bits(words, ranks)


def _seeds_suffice(lists: list[_List], theta: float) -> bool:
    """Whether no sentence outside the seeds can reach theta (Fagin's threshold algorithm)."""
    bounds: dict[int, float] = {}
    for each in lists:  # in query order within each segment
        if each.impact is not None:  # its ladder's first step is the seed depth
            bounds[each.offset] = bounds.get(each.offset, 0.0) + float(each.impact.unread[1])
    return all(bound < theta for bound in bounds.values())


def _depths(lists: list[_List], theta: float) -> list[int] | None:
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
