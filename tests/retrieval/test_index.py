"""Every score SentenceIndex returns is bit-for-bit BM25Okapi.get_scores; top-k ties by order.

Over one segment or several, with removals and merges (through the library as it adds,
replaces and removes documents: tests/bot/engine/test_indexes.py). The reference is rank-bm25
(tests/retrieval/bm25_reference.py).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from retrieval import DocumentRef, Sentence, SentenceIndex
from retrieval.postings import Segment
from retrieval.term_table import followers
from tests.retrieval.bm25_reference import (
    WORDS,
    assert_exact,
    expected_top,
    guarded_bm25,
    make_sentences,
    random_corpus,
)


def test_empty_corpus_finds_nothing_and_does_not_crash():
    index = SentenceIndex([], [])
    assert index.search(["anything"], 3) == []
    assert index.idf("anything") == 0.0
    assert len(index) == 0


def test_sentences_without_terms_find_nothing():
    corpus: list[list[str]] = [[], []]
    index = SentenceIndex(make_sentences(corpus), corpus)
    assert index.search(["w1"], 3) == []


@pytest.mark.parametrize("seed", range(6))
def test_random_small_corpora_match_rank_bm25_exactly(seed):
    rng = random.Random(seed)
    for _ in range(40):
        corpus = random_corpus(rng, rng.randint(1, 40))
        index = SentenceIndex(make_sentences(corpus), corpus)
        bm25 = guarded_bm25(corpus) if any(corpus) else None
        for _ in range(8):
            query = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
            assert_exact(index, bm25, query, rng.randint(1, 6))


def test_ties_go_to_the_earlier_sentence():
    corpus = [["x", "y"]] * 7 + [["z"]] * 8
    index = SentenceIndex(make_sentences(corpus), corpus)
    assert [s.id for s, _ in index.search(["x"], 3)] == [0, 1, 2]
    assert_exact(index, guarded_bm25(corpus), ["x", "z"], 9)


def test_segments_with_removals_and_merges_equal_one_fresh_collection():
    rng = random.Random(7)
    next_id = 0
    for _ in range(60):
        documents: dict[int, list[tuple[Sentence, list[str]]]] = {}
        for number in range(1, rng.randint(2, 9)):
            ref = DocumentRef(number, "t", "s")
            rows = []
            for position in range(1, rng.randint(2, 7)):
                next_id += 1
                terms = random_corpus(rng, 1, 30)[0]
                rows.append((Sentence(next_id, ref, position, "x"), terms))
            documents[number] = rows
        ids = list(documents)
        rng.shuffle(ids)  # segments need not be in document order
        cut = rng.randint(1, len(ids))
        segments = []
        for group in (ids[:cut], ids[cut:]):
            rows = [row for number in group for row in documents[number]]
            if rows:
                segments.append(Segment.build([s for s, _ in rows], [t for _, t in rows]))
        removed = set(rng.sample(ids, rng.randint(0, len(ids) - 1)))
        for number in removed:
            segments = [segment.without(number) for segment in segments]
        if rng.random() < 0.4:
            segments = [Segment.merge(segments)]
        live = [
            row
            for number in sorted(documents)
            if number not in removed
            for row in documents[number]
        ]
        corpus = [terms for _, terms in live]
        bm25 = guarded_bm25(corpus) if any(corpus) else None
        index = SentenceIndex.from_segments(segments)
        for prepared in (False, True):
            if prepared:
                index.prepare()
            for _ in range(4):
                query = [rng.choice(WORDS[:30]) for _ in range(rng.randint(1, 3))]
                k = rng.randint(1, 5)
                got = [(s.id, v) for s, v in index.search(query, k)]
                want = [(live[i][0].id, v) for i, v in expected_top(bm25, query, k)]
                assert got == want
                assert_followers_exact(index, bm25, live, query)


def assert_followers_exact(index, bm25, live, query):
    """Each live sentence's follower is the next one of its document, scored as rank-bm25 does."""
    scores = bm25.get_scores(query) if bm25 is not None else np.zeros(len(live))
    for row, (sentence, _) in enumerate(live):
        following = live[row + 1][0] if row + 1 < len(live) else None
        if following is not None and following.document.id != sentence.document.id:
            following = None
        expected = [] if following is None else [(following.id, float(scores[row + 1]))]
        got = [(s.id, score) for s, score in followers(index, [sentence], query)]
        assert got == expected, query
