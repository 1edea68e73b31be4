"""Segments: immutable compressed-sparse-column postings of a batch of analyzed sentences."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, count, repeat
from operator import attrgetter

import numpy as np

from retrieval.types import DocumentRef, Sentence

# A tie between equal scores goes to the sentence with the smaller order key. The store's
# sentences use (document id, position), packed so one integer compares like the pair.
_POSITION_BITS = 32


def order_key(document_id: int, position: int) -> int:
    """The tie-breaking key of a stored sentence: document order, then position."""
    return (document_id << _POSITION_BITS) | position


@dataclass(frozen=True, eq=False)
class Postings:
    """Term -> the rows that hold it, with term frequencies, in CSC layout.

    `vocabulary` maps each term to its local id, `indptr[t]:indptr[t + 1]` slices `rows`
    (ascending), `tf` (its count in the row) and `rank` (the order in which the term first
    appears within its row: rank-bm25's average IDF sums terms in order of first appearance,
    and that order decides the last bit of the sum).
    """

    vocabulary: dict[str, int]
    indptr: np.ndarray
    rows: np.ndarray
    tf: np.ndarray
    rank: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, terms: Sequence[Sequence[str]]) -> Postings:
        """Postings of analyzed sentences, one row per sentence, in the given order."""
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        # Local ids in order of first appearance, assigned at C speed in the one pass that
        # maps every token to its id. Token-sized arrays are int32 where they fit: memory
        # traffic, not arithmetic, is the cost of a million-sentence build.
        assign: defaultdict[str, int] = defaultdict(count().__next__)
        ids = np.fromiter(
            map(assign.__getitem__, chain.from_iterable(terms)),
            dtype=np.int32,
            count=int(lengths.sum()),
        )
        vocabulary = dict(assign)
        size, tokens = len(vocabulary), len(ids)
        # Tokens come row by row, so a stable sort by term alone leaves each term's rows
        # ascending, and a term's repeats within a row adjacent: the CSC layout in one sort.
        by_term = _stable_order(ids, size)
        term = np.repeat(np.arange(size, dtype=np.int32), np.bincount(ids, minlength=size))
        row = np.repeat(np.arange(len(terms), dtype=np.int32), lengths)[by_term]
        new = np.empty(tokens, dtype=bool)
        new[:1] = True
        np.not_equal(term[1:], term[:-1], out=new[1:])
        new[1:] |= row[1:] != row[:-1]
        starts = np.flatnonzero(new)
        tf = np.diff(starts, append=tokens)
        rows = row[starts].astype(np.intp)
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(term[starts], minlength=size), out=indptr[1:])
        # The stable sort puts a (term, row) pair's first occurrence first. A term's rank in
        # its row counts the row's distinct terms that first appear before it.
        first = by_term[starts]
        is_first = np.zeros(tokens, dtype=bool)
        is_first[first] = True
        firsts_before = np.zeros(tokens + 1, dtype=np.int32)
        np.cumsum(is_first, dtype=np.int32, out=firsts_before[1:])
        row_start = np.zeros(len(terms), dtype=np.int64)
        np.cumsum(lengths[:-1], out=row_start[1:])
        in_row = firsts_before[:-1] - np.repeat(firsts_before[row_start], lengths)
        rank = in_row[first]
        return cls(vocabulary, indptr, rows, _compact(tf), _compact(rank), lengths.astype(np.int32))

    @classmethod
    def _from_entries(
        cls,
        vocabulary: dict[str, int],
        term: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        rank: np.ndarray,
        lengths: np.ndarray,
    ) -> Postings:
        """CSC postings from (term, row, tf, rank) entries sorted by row."""
        if len(vocabulary) <= np.iinfo(np.uint16).max:
            by_term = np.argsort(term.astype(np.uint16), kind="stable")  # a radix sort
        else:
            by_term = np.argsort(term * max(len(lengths), 1) + rows)  # unique keys: any sort
        counts = np.bincount(term, minlength=len(vocabulary))
        indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(
            vocabulary,
            indptr,
            rows[by_term].astype(np.intp),
            _compact(tf[by_term]),
            _compact(rank[by_term]),
            lengths.astype(np.int32),
        )

    @cached_property
    def terms(self) -> list[str]:
        """Terms by local id."""
        return list(self.vocabulary)

    @cached_property
    def df(self) -> np.ndarray:
        """Document frequency of each local term."""
        return np.diff(self.indptr)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (the vocabulary dict not included)."""
        return sum(a.nbytes for a in (self.indptr, self.rows, self.tf, self.rank, self.lengths))


def _stable_order(keys: np.ndarray, size: int) -> np.ndarray:
    """The stable sorting permutation of non-negative int keys below `size`.

    numpy sorts 16-bit keys stably with a radix sort, several times faster than its merge
    sort; larger keys take two radix passes, low half then high half.
    """
    if size <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    high = (keys[low] >> 16).astype(np.uint16)
    return low[np.argsort(high, kind="stable")]


def _compact(values: np.ndarray) -> np.ndarray:
    """The smallest unsigned dtype that holds the values (term counts are small)."""
    top = int(values.max()) if len(values) else 0
    for dtype in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Segment:
    """Sentences of one or more whole documents with their postings; never changed in place.

    Removing a document gives a new segment that shares the postings and marks the
    document's rows dead, so a removal is instant and any index built before it stays valid.
    """

    postings: Postings
    sentences: Sequence[Sentence]
    order: np.ndarray
    documents: Mapping[int, tuple[int, int]]
    dead: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        sentences: Sequence[Sentence],
        terms: Sequence[Sequence[str]],
        order: np.ndarray | None = None,
    ) -> Segment:
        """A segment of sentences in document order; `order` defaults to store order keys."""
        if len(sentences) != len(terms):
            raise ValueError("every sentence needs its terms")
        if order is None:
            order = np.fromiter(
                (order_key(s.document.id, s.position) for s in sentences),
                dtype=np.int64,
                count=len(sentences),
            )
        if len(order) > 1 and bool((order[1:] < order[:-1]).any()):
            # Rows follow order keys, so a term's first posting is its first appearance.
            by_key = np.argsort(order, kind="stable").tolist()
            sentences = [sentences[i] for i in by_key]
            terms = [terms[i] for i in by_key]
            order = order[by_key]
        return cls(Postings.build(terms), list(sentences), order, _document_spans(sentences))

    @classmethod
    def of_document(
        cls,
        document: DocumentRef,
        sentence_ids: Sequence[int],
        texts: Sequence[str],
        postings: Postings,
    ) -> Segment:
        """A segment of one stored document whose postings were built beforehand.

        The same segment `build` gives for the document's sentences at positions 1..n, without
        going over the sentences again: postings can be built before the store assigns ids.
        """
        count = len(texts)
        if len(sentence_ids) != count or len(postings.lengths) != count:
            raise ValueError("every sentence needs its id and its terms")
        positions = range(1, count + 1)
        sentences = list(map(Sentence, sentence_ids, repeat(document, count), positions, texts))
        order = np.arange(1, count + 1, dtype=np.int64)
        order |= document.id << _POSITION_BITS
        return cls(postings, sentences, order, {document.id: (0, count)} if count else {})

    def __len__(self) -> int:
        return len(self.sentences)

    @cached_property
    def live_count(self) -> int:
        """How many sentences are not removed."""
        return len(self) - (int(self.dead.sum()) if self.dead is not None else 0)

    @cached_property
    def live_length(self) -> int:
        """The total number of terms in live sentences."""
        lengths = self.postings.lengths
        if self.dead is not None:
            lengths = lengths[~self.dead]
        return int(lengths.sum(dtype=np.int64))

    @cached_property
    def live_df(self) -> np.ndarray:
        """Document frequency of each local term over live sentences."""
        if self.dead is None:
            return self.postings.df
        alive = (~self.dead[self.postings.rows]).astype(np.int64)
        sums = np.zeros(len(alive) + 1, dtype=np.int64)
        np.cumsum(alive, out=sums[1:])
        return sums[self.postings.indptr[1:]] - sums[self.postings.indptr[:-1]]

    @cached_property
    def indptr_list(self) -> list[int]:
        """The postings' indptr as Python ints (cheaper to index per query than numpy)."""
        return self.postings.indptr.tolist()

    def posting_lists(self, terms: Sequence[str]) -> Iterator[tuple[int, int, int]]:
        """Each term's position in `terms` and the span of its posting list, if it has one here.

        In the terms' order, repeats included.
        """
        vocabulary = self.postings.vocabulary
        indptr = self.indptr_list
        for j, term in enumerate(terms):
            local = vocabulary.get(term)
            if local is not None:
                start, end = indptr[local], indptr[local + 1]
                # A merge can leave a term of removed rows without any.
                if start != end:
                    yield j, start, end

    @property
    def dead_count(self) -> int:
        """How many sentences are marked removed."""
        return len(self) - self.live_count

    def has_document(self, document_id: int) -> bool:
        """Whether the document's sentences are here and live."""
        span = self.documents.get(document_id)
        return span is not None and (self.dead is None or not self.dead[span[0] : span[1]].all())

    def without(self, document_id: int) -> Segment:
        """A copy of the segment with the document's sentences marked removed."""
        span = self.documents.get(document_id)
        if span is None:
            return self
        dead = np.zeros(len(self), dtype=bool) if self.dead is None else self.dead.copy()
        dead[span[0] : span[1]] = True
        documents = {key: value for key, value in self.documents.items() if key != document_id}
        return Segment(self.postings, self.sentences, self.order, documents, dead)

    def row_of(self, sentence: Sentence) -> int | None:
        """The row of a sentence, or None if it is not here."""
        return self._rows_by_id.get(sentence.id)

    @cached_property
    def _rows_by_id(self) -> dict[int, int]:
        # Built whole, then published: queries in other threads never see it half filled.
        return {s.id: row for row, s in enumerate(self.sentences)}

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (Python objects not included)."""
        dead = self.dead.nbytes if self.dead is not None else 0
        return self.postings.nbytes + self.order.nbytes + dead

    @classmethod
    def merge(cls, segments: Sequence[Segment]) -> Segment:
        """One segment holding the live sentences of several, in order-key order."""
        vocabulary: dict[str, int] = {}
        parts_term, parts_row, parts_tf, parts_rank = [], [], [], []
        sentences: list[Sentence] = []
        orders, lengths = [], []
        offset = 0
        for segment in segments:
            postings = segment.postings
            live = np.ones(len(segment), dtype=bool) if segment.dead is None else ~segment.dead
            new_row = np.full(len(segment), -1, dtype=np.int64)
            new_row[live] = np.arange(offset, offset + int(live.sum()))
            # New terms get the next ids in order of first appearance (as setdefault would),
            # added in bulk: the per-term Python work is a membership test and a lookup.
            new = [term for term in postings.terms if term not in vocabulary]
            first = len(vocabulary)
            vocabulary.update(zip(new, range(first, first + len(new)), strict=True))
            remap = np.fromiter(
                map(vocabulary.__getitem__, postings.terms),
                dtype=np.int64,
                count=len(postings.terms),
            )
            term = np.repeat(remap, postings.df)
            keep = live[postings.rows]
            parts_term.append(term[keep])
            parts_row.append(new_row[postings.rows[keep]])
            parts_tf.append(postings.tf[keep].astype(np.int64))
            parts_rank.append(postings.rank[keep].astype(np.int64))
            if segment.dead is None:
                sentences.extend(segment.sentences)
            else:
                sentences.extend(
                    s for s, alive in zip(segment.sentences, live.tolist(), strict=True) if alive
                )
            orders.append(segment.order[live])
            lengths.append(postings.lengths[live].astype(np.int64))
            offset += int(live.sum())
        order = np.concatenate(orders) if orders else np.zeros(0, dtype=np.int64)
        # Rows go in order-key order, so ties keep following document order after a merge.
        permutation = np.argsort(order, kind="stable")
        position = np.empty_like(permutation)
        position[permutation] = np.arange(len(permutation))
        term = np.concatenate(parts_term) if parts_term else np.zeros(0, dtype=np.int64)
        rows = position[np.concatenate(parts_row)] if parts_row else term
        by_row = np.argsort(rows, kind="stable")
        postings = Postings._from_entries(
            vocabulary,
            term[by_row],
            rows[by_row],
            np.concatenate(parts_tf)[by_row] if parts_tf else term,
            np.concatenate(parts_rank)[by_row] if parts_rank else term,
            np.concatenate(lengths)[permutation] if lengths else term,
        )
        ordered = list(map(sentences.__getitem__, permutation.tolist()))
        return cls(postings, ordered, order[permutation], _document_spans(ordered))


_document_id = attrgetter("document.id")  # at C speed: a million sentences per cold start


def _document_spans(sentences: Sequence[Sentence]) -> dict[int, tuple[int, int]]:
    """Each document's rows as (start, end); a document's sentences are contiguous."""
    ids = np.fromiter(map(_document_id, sentences), dtype=np.int64, count=len(sentences))
    if len(ids) == 0:
        return {}
    starts = np.flatnonzero(np.concatenate(([True], ids[1:] != ids[:-1])))
    ends = np.append(starts[1:], len(ids))
    spans: dict[int, tuple[int, int]] = {}
    for document, start, end in zip(
        ids[starts].tolist(), starts.tolist(), ends.tolist(), strict=True
    ):
        first, _ = spans.get(document, (start, end))
        spans[document] = (first, end)
    return spans
