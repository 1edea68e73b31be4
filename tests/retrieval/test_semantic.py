"""The embedder's side: vectors that do not depend on their batch, and the nearest sentences."""

import shutil

import numpy as np
import pytest

from retrieval.embedder import MODEL_FILE, MODEL_SHA256, Embedder
from retrieval.onnx_model import ModelFiles, ModelUnavailableError
from retrieval.semantic import SentenceVectors
from retrieval.types import DocumentRef, Sentence

REF = DocumentRef(1, "FAQ", "")
TEXTS = [
    "What do the letters XZ mean?",
    "Nothing, they are just two letters.",
    "The kettle boils water in ninety seconds.",
]


def sentences() -> list[Sentence]:
    return [Sentence(i + 1, REF, i + 1, text) for i, text in enumerate(TEXTS)]


def test_vectors_are_unit_length_and_the_same_alone_or_in_a_batch():
    embedder = Embedder()
    together = embedder.embed(TEXTS)
    alone = embedder.embed([TEXTS[1]])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert together[1].tolist() == alone[0].tolist()


def test_a_question_in_other_words_is_nearest_the_sentence_that_says_it():
    embedder = Embedder()
    table = SentenceVectors.of(sentences(), list(embedder.embed(TEXTS)))
    meaning = table.meaning(embedder.embed(["does xz stand for something"])[0], 2)
    assert meaning.nearest[0][0].text == TEXTS[0]
    assert meaning.nearest[0][1] > meaning.nearest[1][1]
    assert meaning.similarity(Sentence(99, REF, 9, "not embedded")) is None


def test_ties_go_to_the_earlier_sentence():
    vector = np.array([1.0, 0.0], dtype=np.float32)
    table = SentenceVectors.of(sentences(), [vector, vector, vector])
    assert [s.id for s, _ in table.meaning(vector, 3).nearest] == [1, 2, 3]


def test_a_changed_embedder_file_is_refused(tmp_path):
    changed = tmp_path / "embedder-int8.onnx"
    shutil.copy(MODEL_FILE, changed)
    with changed.open("ab") as file:
        file.write(b"\0")
    with pytest.raises(ModelUnavailableError, match="not the one recorded"):
        Embedder(ModelFiles(changed, MODEL_SHA256)).embed(["a sentence"])


def spread_vectors(count: int, rank: int, seed: int) -> np.ndarray:
    """Unit vectors of 384 dimensions that all lie in a `rank`-dimensional subspace."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((384, rank)))[0]
    vectors = (rng.standard_normal((count, rank)) @ basis.T).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def many(count: int) -> list[Sentence]:
    return [Sentence(i + 1, REF, i + 1, f"sentence {i}") for i in range(count)]


def test_past_exact_up_to_a_shortlist_finds_the_same_nearest():
    # In a subspace the principal axes span, the shortlist's rough cosines are exact ones.
    vectors = spread_vectors(3000, 40, seed=1)
    question = vectors[17] + 0.5 * vectors[2000]
    question /= np.linalg.norm(question)
    shortlisted = SentenceVectors.of(many(3000), list(vectors), exact_up_to=1000)
    every = SentenceVectors.of(many(3000), list(vectors), exact_up_to=3000)
    assert shortlisted.axes is not None and every.axes is None
    got, truth = shortlisted.meaning(question, 10), every.meaning(question, 10)
    assert [s.id for s, _ in got.nearest] == [s.id for s, _ in truth.nearest]
    assert got.nearest[0][0].id in {18, 2001}
    # Any sentence's cosine, shortlisted or not, is the exact one.
    for sentence in many(3000)[::250]:
        assert got.similarity(sentence) == pytest.approx(truth.similarity(sentence), abs=1e-4)


def test_a_shortlist_gives_ties_to_the_earlier_sentence():
    vectors = spread_vectors(1000, 20, seed=2)
    vectors[600] = vectors[700] = vectors[5]
    table = SentenceVectors.of(many(1000), list(vectors), exact_up_to=0)
    assert [s.id for s, _ in table.meaning(vectors[5], 3).nearest] == [6, 601, 701]
