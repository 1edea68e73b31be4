"""Scoring every touched posting stays bit-exact on a large index, in one segment or several."""

from __future__ import annotations

import random

import pytest
from rank_bm25 import BM25Okapi

from retrieval import SentenceIndex, exhaustive
from retrieval import index as index_module
from retrieval.postings import Segment
from tests.retrieval.bm25_reference import assert_exact, expected_top, make_sentences


@pytest.mark.parametrize("list_by_list", [16, 1 << 30])
def test_large_index_paths_stay_exact_in_one_segment_and_in_several(monkeypatch, list_by_list):
    # The thread's accumulator, and scoring list by list with weak lists left out of the
    # selection, start at sizes a test does not build: lower the thresholds instead.
    monkeypatch.setattr(index_module, "_SCRATCH_ROWS", 64)
    monkeypatch.setattr(exhaustive, "_LIST_BY_LIST", list_by_list)
    rng = random.Random(5)
    words = [f"t{i}" for i in range(300)]
    weights = [1 / (i + 1) for i in range(300)]
    corpus = [rng.choices(words, weights, k=rng.randint(1, 12)) for _ in range(3000)]
    sentences = make_sentences(corpus, per_document=20)
    single = SentenceIndex(sentences, corpus)
    # The same collection as three segments, one document removed: the reference is
    # rank-bm25 over the live sentences, in document order. Documents shuffled among the
    # segments, and in runs (the rows then follow document order across segments too).
    documents = sorted({s.document.id for s in sentences})
    shuffled = rng.sample(documents, len(documents))
    removed = shuffled[0]
    several = []
    for groups in (
        [set(shuffled[i::3]) for i in range(3)],
        [set(documents[: len(documents) // 3]), set(documents[len(documents) // 3 :])],
    ):
        segments = [
            Segment.build(
                [s for s in sentences if s.document.id in group],
                [t for s, t in zip(sentences, corpus, strict=True) if s.document.id in group],
            ).without(removed)
            for group in groups
        ]
        index = SentenceIndex.from_segments(segments)
        index.prepare()
        several.append(index)
    live = [i for i, s in enumerate(sentences) if s.document.id != removed]
    bm25_all = BM25Okapi(corpus)
    bm25_live = BM25Okapi([corpus[i] for i in live])
    for turn in range(60):
        pool = words[:20] if turn % 2 else words
        query = rng.choices(pool, weights[: len(pool)], k=rng.randint(1, 6))
        k = rng.choice([1, 5, 20])
        assert_exact(single, bm25_all, query, k)
        want = [(live[i], v) for i, v in expected_top(bm25_live, query, k)]
        for index in several:
            assert [(s.id, v) for s, v in index.search(query, k)] == want, query
