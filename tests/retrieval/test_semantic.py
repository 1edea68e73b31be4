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
