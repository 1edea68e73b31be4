"""The reader's files are checked before use; a file that is not the one recorded is refused."""

import shutil

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from retrieval.onnx_model import TOKENIZER_FILE, ModelFiles, ModelUnavailableError
from retrieval.reader import MODEL_FILE, MODEL_SHA256, Reader


def test_the_shipped_files_load_and_score_a_pair():
    reader = Reader()
    reader.load()
    logits = reader.score("how many forces?", ["The US sends 50 forces.", "It rained."])
    assert logits.shape == (2,) and np.isfinite(logits).all()
    assert logits[0] > logits[1]


def test_a_changed_model_file_is_refused(tmp_path):
    changed = tmp_path / "reader-int8.onnx"
    shutil.copy(MODEL_FILE, changed)
    with changed.open("ab") as file:
        file.write(b"\0")
    reader = Reader(ModelFiles(changed, MODEL_SHA256))
    with pytest.raises(ModelUnavailableError, match="not the one recorded"):
        reader.score("q", ["a sentence"])


def test_a_missing_tokenizer_is_refused(tmp_path):
    reader = Reader(ModelFiles(MODEL_FILE, MODEL_SHA256, tmp_path / "absent.json"))
    with pytest.raises(ModelUnavailableError, match="cannot be read"):
        reader.load()


def test_scores_are_the_same_every_run():
    passages = ["The installer works on Windows 10 and later.", "Open an issue on the tracker."]
    first = Reader().score("does it work on windows", passages)
    second = Reader().score("does it work on windows", passages)
    assert first.tolist() == second.tolist()


def test_long_questions_and_passages_are_cut_not_refused():
    long = " ".join(["word"] * 2000)
    assert Reader().score(long, [long]).shape == (1,)
    assert TOKENIZER_FILE.exists()


def test_one_thread_and_two_give_the_same_logits():
    passages = ["The installer works on Windows 10 and later.", "Open an issue on the tracker."] * 4
    one = Reader(threads=1).score("does it work on windows", passages)
    two = Reader(threads=2).score("does it work on windows", passages)
    assert one.tolist() == two.tolist()


def test_loading_a_model_leaves_numpy_one_blas_thread():
    # numpy's spinning BLAS threads would take the core the reader's second thread needs.
    with threadpool_limits(limits=2, user_api="blas"):
        Reader().load()
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas and all(pool["num_threads"] == 1 for pool in blas)
