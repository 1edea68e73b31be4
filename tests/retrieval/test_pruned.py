"""Early stopping on long posting lists stays bit-exact, however candidates are looked up.

The pruned search finds candidates' contributions three ways; each stays bit-exact. A long
list is read whole through a row -> candidate map, or each candidate is looked up: in the
list's bitset when it has one, else by binary search in its rows. Which one runs depends on
sizes a test does not build, so the thresholds are moved instead.
"""

from __future__ import annotations

import pytest
from rank_bm25 import BM25Okapi

from retrieval import SentenceIndex, pruned
from retrieval import index as index_module
from tests.retrieval.bm25_reference import Zipf, assert_exact, make_sentences


@pytest.mark.parametrize("exhaustive_max", [32, 32768])
def test_long_posting_lists_take_the_pruned_paths_and_stay_exact(monkeypatch, exhaustive_max):
    # Zipf-like frequencies make long lists. Early stopping only pays on much larger
    # collections than a test builds, so one run lowers the threshold that turns it on.
    monkeypatch.setattr(index_module, "_EXHAUSTIVE_MAX", exhaustive_max)
    zipf = Zipf(42, 2000)
    corpus = zipf.corpus(12_000)
    index = SentenceIndex(make_sentences(corpus, per_document=50), corpus)
    bm25 = BM25Okapi(corpus)
    for turn in range(80):
        query = zipf.query(30 if turn % 2 else 2000, zipf.rng.randint(1, 4 + turn % 10))
        assert_exact(index, bm25, query, zipf.rng.choice([1, 3, 5, 10, 20]))


@pytest.mark.parametrize("bits_density", [1, 1 << 30], ids=["no-bitsets", "all-bitsets"])
@pytest.mark.parametrize("ratio", [0, 8], ids=["look-ups", "maps"])
def test_pruned_search_is_exact_however_candidates_are_looked_up(monkeypatch, bits_density, ratio):
    monkeypatch.setattr(index_module, "_EXHAUSTIVE_MAX", 32)
    monkeypatch.setattr(pruned, "_BITS_DENSITY", bits_density)
    monkeypatch.setattr(pruned, "_LOOKUP_RATIO", ratio)
    monkeypatch.setattr(pruned, "_BITS_RATIO", ratio)
    zipf = Zipf(11, 1500)
    corpus = zipf.corpus(9_000)
    index = SentenceIndex(make_sentences(corpus, per_document=30), corpus)
    has_bits = [i.bits is not None for i in index._prepared.impact[0].values()]
    assert has_bits and all(has_bits) == (bits_density > 1) and any(has_bits) == all(has_bits)
    bm25 = BM25Okapi(corpus)
    for turn in range(40):
        query = zipf.query(25 if turn % 2 else 400, zipf.rng.randint(2, 6))
        assert_exact(index, bm25, query, zipf.rng.choice([1, 5, 20]))


def test_pruned_search_is_exact_with_wide_slot_maps(monkeypatch):
    # Up to 32,767 candidates map through 16-bit slots; more take 32-bit ones.
    monkeypatch.setattr(index_module, "_EXHAUSTIVE_MAX", 32)
    monkeypatch.setattr(pruned, "_NARROW_SLOTS", 0)
    zipf = Zipf(12, 800)
    corpus = zipf.corpus(5_000)
    index = SentenceIndex(make_sentences(corpus, per_document=30), corpus)
    bm25 = BM25Okapi(corpus)
    for turn in range(30):
        query = zipf.query(25 if turn % 2 else 300, zipf.rng.randint(2, 6))
        assert_exact(index, bm25, query, zipf.rng.choice([1, 5, 20]))
