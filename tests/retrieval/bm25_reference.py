"""rank-bm25 as the exactness tests' reference: its top k, and corpora and queries to rank.

Every score SentenceIndex returns is bit-for-bit BM25Okapi.get_scores; top-k ties by order.

The one deliberate difference from rank-bm25: with one or two sentences the average IDF can
be <= 0, and rank-bm25 would floor common terms' IDF at epsilon * that (zero or negative,
so nothing could ever be found). We give such terms IDF = epsilon instead. The reference
below applies the same guard to BM25Okapi's IDF table, and a test shows rank-bm25's raw
behaviour there.
"""

from __future__ import annotations

import random

import numpy as np
from rank_bm25 import BM25Okapi

from retrieval import DocumentRef, Sentence, SentenceIndex

WORDS = [f"w{i}" for i in range(60)]


class Zipf:
    """Words with Zipf-like frequencies (word i drawn with weight 1 / (i + 1)): long lists."""

    def __init__(self, seed: int, vocabulary: int) -> None:
        self.rng = random.Random(seed)
        self.words = [f"t{i}" for i in range(vocabulary)]
        self.weights = [1 / (i + 1) for i in range(vocabulary)]

    def corpus(self, sentences: int) -> list[list[str]]:
        """Sentences of 1 to 12 words."""
        return [
            self.rng.choices(self.words, self.weights, k=self.rng.randint(1, 12))
            for _ in range(sentences)
        ]

    def query(self, pool: int, length: int) -> list[str]:
        """A query of `length` words from the `pool` most frequent."""
        return self.rng.choices(self.words[:pool], self.weights[:pool], k=length)


def guarded_bm25(corpus: list[list[str]], k1: float = 1.5, b: float = 0.75) -> BM25Okapi:
    """BM25Okapi with the one guard SentenceIndex applies (see the module docstring)."""
    bm25 = BM25Okapi(corpus, k1=k1, b=b)
    if bm25.epsilon * bm25.average_idf <= 0:
        for term, idf in bm25.idf.items():
            if idf <= 0:
                bm25.idf[term] = bm25.epsilon
    return bm25


def expected_top(bm25: BM25Okapi | None, query: list[str], k: int) -> list[tuple[int, float]]:
    """Rows and exact scores of the top k positive scores, ties by row (document order)."""
    if bm25 is None:
        return []
    scores = bm25.get_scores(query)
    rows = sorted(np.flatnonzero(scores > 0).tolist(), key=lambda i: (-scores[i], i))[:k]
    return [(i, float(scores[i])) for i in rows]


def make_sentences(corpus: list[list[str]], per_document: int = 4) -> list[Sentence]:
    """Sentences numbered by row, a few per document, in document order."""
    refs = [DocumentRef(d + 1, f"doc {d}", "test") for d in range(len(corpus) // per_document + 1)]
    return [
        Sentence(i, refs[i // per_document], i % per_document + 1, " ".join(terms))
        for i, terms in enumerate(corpus)
    ]


def assert_exact(index: SentenceIndex, bm25: BM25Okapi | None, query: list[str], k: int) -> None:
    got = [(sentence.id, score) for sentence, score in index.search(query, k)]
    # == on floats on purpose: the same operations in the same order give the same bits.
    assert got == expected_top(bm25, query, k), query


def random_corpus(rng: random.Random, size: int, vocabulary: int = 60) -> list[list[str]]:
    return [
        [rng.choice(WORDS[: rng.randint(1, vocabulary)]) for _ in range(rng.randint(0, 12))]
        for _ in range(size)
    ]
