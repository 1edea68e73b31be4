"""The question's terms in a few sentences and their neighbours, read from the index's postings.

Re-ranking needs, for each candidate sentence and the sentences just before and after it, which
of the question's terms it holds, how often, and in which order they first appear. Analysing
those sentences' text again costs far more than the search (a large corpus defeats any text
cache), while the postings already hold it all: each term's sorted rows with the term's count
(`tf`) and rank of first appearance among the row's distinct terms (`rank`), and each row's
length. One binary search per question term and segment finds every wanted row at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.index import SentenceIndex
from retrieval.postings import Segment
from retrieval.types import Sentence

# The rank given to a term a sentence lacks (a real rank is never negative).
ABSENT = -1


@dataclass(frozen=True, slots=True)
class TermTable:
    """Per distinct question term (rows of the arrays) and sentence: counts and ranks.

    `tf[j]` holds term j's count in the n candidates, then in the sentence just before each
    candidate in its document, then just after (0 where there is none): 3n columns. `rank[j]`
    is the rank of term j's first appearance among each candidate's distinct terms (ABSENT
    where missing); `lengths` the candidates' term counts. `keys` numbers the candidates'
    rows across segments and `before_keys`/`after_keys` their neighbours' (-1: none), so a
    neighbour that is itself a candidate can be recognised; `before` and `after` are those
    neighbours (as SentenceIndex.neighbours gives them).
    """

    tf: np.ndarray
    rank: np.ndarray
    lengths: np.ndarray
    keys: list[int]
    before_keys: list[int]
    after_keys: list[int]
    before: list[Sentence | None]
    after: list[Sentence | None]
    # Per term of `others` given to build (rows) and candidate: whether it holds the term.
    holds: np.ndarray

    @classmethod
    def build(
        cls,
        index: SentenceIndex,
        sentences: Sequence[Sentence],
        terms: Sequence[str],
        others: Sequence[str] = (),
    ) -> TermTable:
        """The table for these sentences of the index (each must be in it) and distinct terms.

        `others` are terms of which only presence in the candidates is wanted (the terms
        related to the question's): a cheaper read than `terms`' counts and ranks.
        """
        segments = index.segments
        offsets = [0]
        for segment in segments:
            offsets.append(offsets[-1] + len(segment))
        spans = [segment.documents for segment in segments]
        texts = [segment.sentences for segment in segments]
        numbers, rows, before, after = [], [], [], []
        keys, before_keys, after_keys = [], [], []
        before_sentences: list[Sentence | None] = []
        after_sentences: list[Sentence | None] = []
        for sentence in sentences:
            number, row, first, last = _locate(segments, spans, sentence)
            numbers.append(number)
            rows.append(row)
            offset, in_segment = offsets[number], texts[number]
            keys.append(offset + row)
            # A document's sentences fill consecutive rows of one segment (Segment.build and
            # merge sort by document), so its neighbours are the rows next to it in its span.
            if row > first:
                before.append(row - 1)
                before_keys.append(offset + row - 1)
                before_sentences.append(in_segment[row - 1])
            else:
                before.append(-1)
                before_keys.append(-1)
                before_sentences.append(None)
            if row + 1 < last:
                after.append(row + 1)
                after_keys.append(offset + row + 1)
                after_sentences.append(in_segment[row + 1])
            else:
                after.append(-1)
                after_keys.append(-1)
                after_sentences.append(None)
        n = len(sentences)
        tf = np.zeros((len(terms), 3 * n), dtype=np.int64)
        rank = np.full((len(terms), n), ABSENT, dtype=np.int64)
        lengths = np.zeros(n, dtype=np.int64)
        holds = np.zeros((len(others), n), dtype=bool)
        wanted = np.array(rows + before + after, dtype=np.int64)
        used = set(numbers)
        for number in used:
            segment = segments[number]
            if len(used) == 1:
                mine = wanted
                lengths[:] = segment.postings.lengths[wanted[:n]]
            else:
                # Rows of other segments become -1: they never match a posting.
                ours = np.array(numbers * 3) == number
                mine = np.where(ours, wanted, -1)
                at = np.flatnonzero(ours[:n])
                lengths[at] = segment.postings.lengths[wanted[at]]
            _fill(segment, terms, mine, tf, rank)
            _mark(segment, others, mine[:n], holds, alone=len(used) == 1)
        return cls(
            tf,
            rank,
            lengths,
            keys,
            before_keys,
            after_keys,
            before_sentences,
            after_sentences,
            holds,
        )


def followers(
    index: SentenceIndex, sentences: Sequence[Sentence], query: Sequence[str]
) -> list[tuple[Sentence, float]]:
    """The sentence just after each one given (in its document), with its BM25 score."""
    segments = index.segments
    spans = [segment.documents for segment in segments]
    found = []
    for sentence in sentences:
        number, row, _, last = _locate(segments, spans, sentence)
        if row + 1 < last:
            segment = segments[number]
            found.append((segment.sentences[row + 1], index.row_score(segment, row + 1, query)))
    return found


def _locate(
    segments: Sequence[Segment], spans: Sequence[Mapping[int, tuple[int, int]]], sentence: Sentence
) -> tuple[int, int, int, int]:
    """The segment number and row of a sentence, and its document's span of rows there.

    A document's sentences sit in consecutive rows in position order, so the row is usually
    its position's offset from the document's first row; the id check guards the rest.
    """
    document = sentence.document.id
    for number, documents in enumerate(spans):
        span = documents.get(document)
        if span is None:
            continue
        start, end = span
        texts = segments[number].sentences
        row = start + sentence.position - texts[start].position
        if not (start <= row < end and texts[row].id == sentence.id):
            found = segments[number].row_of(sentence)
            if found is None:
                continue
            row = found
        return number, row, start, end
    raise KeyError(sentence.id)


def _fill(
    segment: Segment, terms: Sequence[str], rows: np.ndarray, tf: np.ndarray, rank: np.ndarray
) -> None:
    """Write each term's counts in one segment's rows (-1: skip), and the candidates' ranks."""
    postings = segment.postings
    candidates = rank.shape[1]
    for j, start, end in segment.posting_lists(terms):
        held = postings.rows[start:end]
        found = held.searchsorted(rows)
        np.minimum(found, end - start - 1, out=found)
        hit = held[found] == rows
        found += start
        # Rows of other segments never hit, so they keep what their own segment wrote.
        np.copyto(tf[j], postings.tf[found], where=hit)
        np.copyto(rank[j], postings.rank[found[:candidates]], where=hit[:candidates])


def _mark(
    segment: Segment, terms: Sequence[str], rows: np.ndarray, holds: np.ndarray, *, alone: bool
) -> None:
    """Mark which of one segment's rows (-1: skip) hold each term, in as few array calls as can be.

    A question brings about twenty related terms, so this is the re-ranker's hot loop. When the
    segment is the only one, its marks are written; otherwise added to the other segments'.
    """
    every_row = segment.postings.rows
    for j, start, end in segment.posting_lists(terms):
        held = every_row[start:end]
        # A row past the list's end is clipped to its last row, which then differs from it.
        found = held.take(held.searchsorted(rows), mode="clip")
        if alone:
            np.equal(found, rows, out=holds[j])
        else:
            holds[j] |= found == rows
