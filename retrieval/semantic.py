"""Meaning beyond the words: the sentences nearest a question by the embedder's vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.types import Sentence

# Up to this many sentences the question is compared with every vector: at 100,000 that took
# 7 ms of a 40 ms answer. Past it, first with every vector cut to its first COMPONENTS
# principal axes, and the SHORTLIST best by that in full. Reading the cut vectors is most of
# the time, so fewer axes and a longer shortlist are faster: 2.6 ms on the one BLAS thread
# that retrieval/onnx_model.py leaves numpy, where 96 axes and 512 took 3.3. Over SQuAD's
# 10,281 real sentences it found 99.93% of the exact nearest 10, and the same nearest 10 for
# 299 of 300 questions; over 28,069, 99.90% and 298 (96 and 512: 299 and 300)
# (benchmarks/speed_reader.py).
EXACT_UP_TO = 30_000
COMPONENTS = 64
SHORTLIST = 1_024
# The axes come from about this many of the vectors, evenly spread: 30 ms when a table of
# 100,000 is made (making it, which copies every vector, takes about 100 ms more).
AXES_SAMPLE = 4_096


@dataclass(frozen=True, slots=True)
class SentenceVectors:
    """The unit vectors of some sentences, one row each, for a question to be compared with.

    Past `EXACT_UP_TO` sentences, also their vectors on their principal axes (`axes`, of
    the vectors themselves), to shortlist the nearest quickly.
    """

    sentences: Sequence[Sentence]
    matrix: np.ndarray
    row_of: dict[int, int]
    axes: np.ndarray | None = None
    reduced: np.ndarray | None = None

    @classmethod
    def of(
        cls,
        sentences: Sequence[Sentence],
        vectors: Sequence[np.ndarray],
        *,
        exact_up_to: int = EXACT_UP_TO,
    ) -> SentenceVectors:
        """The sentences with their vectors (same order)."""
        matrix = (
            np.vstack(vectors).astype(np.float32, copy=False)
            if len(vectors)
            else np.zeros((0, 1), dtype=np.float32)
        )
        row_of = {s.id: i for i, s in enumerate(sentences)}
        if len(matrix) <= max(exact_up_to, SHORTLIST):
            return cls(list(sentences), matrix, row_of)
        axes = principal_axes(matrix, COMPONENTS)
        return cls(list(sentences), matrix, row_of, axes, matrix @ axes)

    def __len__(self) -> int:
        return len(self.sentences)

    def meaning(self, question: np.ndarray, nearest: int) -> Semantic:
        """What the vectors say of a question's vector: its `nearest` sentences, and any one's."""
        if not len(self):
            return Semantic(question, self, (), np.zeros(0, dtype=np.float32))
        if self.axes is None or self.reduced is None:
            similarity = self.matrix @ question
            rows = np.arange(len(self))
            every: np.ndarray | None = similarity
        else:
            rough = self.reduced @ (question @ self.axes)
            rows = np.sort(np.argpartition(-rough, SHORTLIST - 1)[:SHORTLIST])
            similarity = self.matrix[rows] @ question
            every = None
        count = min(nearest, len(rows))
        # The best `count`, best first; ties to the earlier row, so the order is always the same.
        top = np.argpartition(-similarity, count - 1)[:count]
        top = top[np.lexsort((rows[top], -similarity[top]))]
        found = tuple((self.sentences[rows[i]], float(similarity[i])) for i in top.tolist())
        return Semantic(question, self, found, every)


def principal_axes(matrix: np.ndarray, components: int) -> np.ndarray:
    """The `components` directions that keep most of the rows' dot products (dims x components).

    Not centred: the shortlist ranks by dot product with the question, which the top
    eigenvectors of the rows' Gram matrix (their top right singular vectors) preserve best.
    From an even sample of the rows, as eigenvectors of a 384 x 384 matrix: 30 ms at
    100,000 rows, where a singular value decomposition of the same sample took 200.
    """
    step = max(1, len(matrix) // AXES_SAMPLE)
    sample = matrix[::step].astype(np.float64)
    _, vectors = np.linalg.eigh(sample.T @ sample)
    # eigh gives them in ascending order of eigenvalue: the last are the principal ones.
    return np.ascontiguousarray(vectors[:, ::-1][:, :components], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Semantic:
    """One question as the embedder sees it: its nearest sentences, and any sentence's cosine.

    `similarities` holds every sentence's cosine when the question was compared with all.
    """

    vector: np.ndarray
    vectors: SentenceVectors
    nearest: tuple[tuple[Sentence, float], ...]
    similarities: np.ndarray | None

    def similarity(self, sentence: Sentence) -> float | None:
        """The cosine of the question and the sentence; None for one not embedded yet."""
        row = self.vectors.row_of.get(sentence.id)
        if row is None:
            return None
        if self.similarities is not None:
            return round(float(self.similarities[row]), 4)
        return round(float(self.vectors.matrix[row] @ self.vector), 4)
