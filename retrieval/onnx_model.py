"""A small transformer shipped as an int8 ONNX file: its files checked, then loaded on first use.

The reader and the embedder are both all-MiniLM-L6-v2 at heart (retrieval/data/READER.md): a
file whose SHA-256 is not the one recorded is refused, not run, and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from retrieval.wordpiece import WordPiece

DATA = Path(__file__).resolve().parent / "data"
TOKENIZER_FILE = DATA / "reader-tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class ModelUnavailableError(RuntimeError):
    """A model's files are missing or not the ones recorded."""


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """Where a model and its tokenizer are, and the checksums they must have."""

    model: Path
    model_sha256: str
    tokenizer: Path = TOKENIZER_FILE
    tokenizer_sha256: str = TOKENIZER_SHA256


class OnnxModel:
    """A tokenizer and an onnxruntime session, loaded once, on first use, behind a lock."""

    def __init__(self, files: ModelFiles, max_tokens: int, threads: int = 1) -> None:
        self.files = files
        self.max_tokens = max_tokens
        self.threads = threads
        self._lock = threading.Lock()
        self._loaded: tuple[WordPiece, Any] | None = None

    def load(self) -> None:
        """Check the files and load the model now; ModelUnavailableError says what is wrong."""
        self._parts()

    def _parts(self) -> tuple[WordPiece, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.files, self.max_tokens, self.threads)
            return self._loaded

    def run(self, inputs: Sequence[str | tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """The model's first output for the texts (or pairs) as one padded batch, and its mask."""
        tokenizer, session = self._parts()
        encoded = [
            tokenizer.encode(each) if isinstance(each, str) else tokenizer.encode(*each)
            for each in inputs
        ]
        width = max(len(each.ids) for each in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, each in enumerate(encoded):
            length = len(each.ids)
            ids[row, :length] = each.ids
            types[row, :length] = each.type_ids
            mask[row, :length] = 1
        (output,) = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        return output, mask


def _load(files: ModelFiles, max_tokens: int, threads: int) -> tuple[WordPiece, Any]:
    # Imported here so that a process that never reads does not load onnxruntime.
    import onnxruntime

    _leave_the_cores_to_onnxruntime()
    model_bytes = _checked(files.model, files.model_sha256)
    tokenizer = WordPiece(_checked(files.tokenizer, files.tokenizer_sha256).decode(), max_tokens)
    options = onnxruntime.SessionOptions()
    # Each thread takes whole rows of each operation: the sums come out the same, however
    # many there are (tests/retrieval/test_reader.py compares one and two).
    options.intra_op_num_threads = threads
    # Threads that spin while waiting steal the cores numpy's comparison with every vector
    # needs (benchmarks/speed_reader.py at 100k: p50 129 ms spinning, 75 ms not, 96 ms on one
    # thread).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model_bytes, options, providers=["CPUExecutionProvider"]
    )
    return tokenizer, session


def _leave_the_cores_to_onnxruntime() -> None:
    # numpy's BLAS (OpenBLAS) keeps its threads spinning for a while after each product, and
    # on two cores they take the one the model's second thread needs: the reader took 28 ms
    # for 10 pairs after a matrix product and 16 ms after one on a single thread
    # (benchmarks/results/speed_reader.md, "Round 10"). Our products are small: one thread
    # loses about 1 ms of an answer. The limit is the whole process's, set as a model loads.
    threadpool_limits(limits=1, user_api="blas")


def _checked(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"the model file {path.name} cannot be read: {error}"
        raise ModelUnavailableError(message) from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelUnavailableError(
            f"the model file {path.name} is not the one recorded (sha256 {digest})"
        )
    return data
