"""Meaning beyond the words: the sentences nearest a question by the embedder's vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.types import Sentence


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """The unit vectors of some sentences, one row each, for a question to be compared with."""

    sentences: Sequence[Sentence]
    matrix: np.ndarray
    row_of: dict[int, int]

    @classmethod
    def of(cls, sentences: Sequence[Sentence], vectors: Sequence[np.ndarray]) -> SentenceVectors:
        """The sentences with their vectors (same order)."""
        matrix = (
            np.vstack(vectors).astype(np.float32, copy=False)
            if len(vectors)
            else np.zeros((0, 1), dtype=np.float32)
        )
        return cls(list(sentences), matrix, {s.id: i for i, s in enumerate(sentences)})

    def __len__(self) -> int:
        return len(self.sentences)

    def meaning(self, question: np.ndarray, nearest: int) -> Semantic:
        """What the vectors say of a question's vector: its `nearest` sentences, and all."""
        if not len(self):
            return Semantic(question, self, (), np.zeros(0, dtype=np.float32))
        similarity = self.matrix @ question
        count = min(nearest, len(self))
        # The best `count`, best first; ties to the earlier row, so the order is always the same.
        top = np.argpartition(-similarity, count - 1)[:count]
        top = top[np.lexsort((top, -similarity[top]))]
        found = tuple((self.sentences[i], float(similarity[i])) for i in top.tolist())
        return Semantic(question, self, found, similarity)


@dataclass(frozen=True, slots=True)
class Semantic:
    """One question as the embedder sees it: its nearest sentences, and any sentence's cosine."""

    vector: np.ndarray
    vectors: SentenceVectors
    nearest: tuple[tuple[Sentence, float], ...]
    similarities: np.ndarray

    def similarity(self, sentence: Sentence) -> float | None:
        """The cosine of the question and the sentence; None for one not embedded yet."""
        row = self.vectors.row_of.get(sentence.id)
        return None if row is None else round(float(self.similarities[row]), 4)
