"""BM25 ranking over sentences, with rank-bm25's BM25Okapi as the scorer."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from retrieval.types import Sentence

DEFAULT_K1 = 1.5
DEFAULT_B = 0.75
DEFAULT_EPSILON = 0.25


class SentenceIndex:
    """An immutable BM25 index over sentences in document order.

    rank-bm25 divides by zero on an empty corpus and, on a tiny one, can give every term a
    negative IDF; both are guarded here so a question never crashes or scores silently zero.
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
        self.sentences = list(sentences)
        self.k1 = k1
        self.b = b
        self._bm25: BM25Okapi | None = None
        if any(terms):
            self._bm25 = BM25Okapi([list(t) for t in terms], k1=k1, b=b, epsilon=epsilon)
            # rank-bm25 floors the IDF of terms found in over half the sentences at
            # epsilon * average IDF; when that average is not positive (a corpus of one or
            # two sentences), the floor would zero or invert every score, so keep it positive.
            floor = epsilon * self._bm25.average_idf
            if floor <= 0:
                for term, idf in self._bm25.idf.items():
                    if idf <= 0:
                        self._bm25.idf[term] = epsilon
        self._position = {sentence.id: i for i, sentence in enumerate(self.sentences)}

    def __len__(self) -> int:
        return len(self.sentences)

    def idf(self, term: str) -> float:
        """The IDF BM25 gives a term; an unseen term gets the IDF of document frequency 0."""
        if self._bm25 is None:
            return 0.0
        if term in self._bm25.idf:
            return float(self._bm25.idf[term])
        n = self._bm25.corpus_size
        return math.log(n + 0.5) - math.log(0.5)

    def max_score(self, query: Sequence[str]) -> float:
        """An upper bound on any sentence's score for this query (every term, very often)."""
        return sum(max(self.idf(term), 0.0) * (self.k1 + 1) for term in query)

    def search(self, query: Sequence[str], k: int) -> list[tuple[Sentence, float]]:
        """The k best sentences with positive scores; ties go to the earlier sentence."""
        if self._bm25 is None or not query or k <= 0:
            return []
        scores = np.asarray(self._bm25.get_scores(list(query)), dtype=np.float64)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        # Stable sort on the touched entries only keeps document order among equal scores.
        order = candidates[np.argsort(-scores[candidates], kind="stable")][:k]
        return [(self.sentences[i], float(scores[i])) for i in order]

    def neighbours(self, sentence: Sentence) -> tuple[Sentence | None, Sentence | None]:
        """The sentences just before and after, within the same document."""
        i = self._position[sentence.id]
        before = self.sentences[i - 1] if i > 0 else None
        after = self.sentences[i + 1] if i + 1 < len(self.sentences) else None
        same = sentence.document.id
        return (
            before if before is not None and before.document.id == same else None,
            after if after is not None and after.document.id == same else None,
        )
