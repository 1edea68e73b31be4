"""IDFs as rank-bm25 gives them, and the one guard where it would find nothing."""

from __future__ import annotations

from rank_bm25 import BM25Okapi

from retrieval import SentenceIndex
from tests.retrieval.bm25_reference import assert_exact, guarded_bm25, make_sentences


def test_term_in_over_half_the_sentences_gets_rank_bm25s_floor():
    corpus = [["common", "a"], ["common", "b"], ["common", "c"], ["d"], ["e"], ["common", "f"]]
    index = SentenceIndex(make_sentences(corpus), corpus)
    bm25 = BM25Okapi(corpus)
    assert bm25.epsilon * bm25.average_idf > 0  # the floor is rank-bm25's own here
    assert index.idf("common") == bm25.idf["common"] == bm25.epsilon * bm25.average_idf
    assert_exact(index, bm25, ["common"], 10)
    assert_exact(index, bm25, ["common", "b", "common"], 10)  # repeated terms count twice


def test_tiny_corpora_keep_idf_positive_where_rank_bm25_would_not():
    corpus = [["alpha", "beta"], ["alpha"]]
    raw = BM25Okapi(corpus)
    assert max(raw.get_scores(["alpha"])) <= 0  # rank-bm25 alone could never find "alpha"
    index = SentenceIndex(make_sentences(corpus), corpus)
    assert [s.id for s, _ in index.search(["alpha"], 2)] == [1, 0]
    assert_exact(index, guarded_bm25(corpus), ["alpha"], 2)
    assert_exact(index, guarded_bm25(corpus), ["alpha", "beta"], 2)
    one = [["solo", "solo"]]
    assert_exact(SentenceIndex(make_sentences(one), one), guarded_bm25(one), ["solo"], 1)
