"""The reader: a small cross-encoder that reads a question and a sentence together.

BM25 and the re-ranker see words; the reader sees meaning. It is all-MiniLM-L6-v2 fine-tuned
as a cross-encoder on the tuning halves of public data (retrieval/build_reader.py, its
provenance and licence in retrieval/data/READER.md), quantised to int8 and run by
onnxruntime: no PyTorch, nothing downloaded. Its logit says how likely the sentence answers
the question; answer.py ranks and decides with it.

The model file's SHA-256 is checked before it is used. One pair's score never depends on
the other pairs it is batched with (each batch is one question's candidates, in their order,
run on one thread), so the same question over the same documents gets the same answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data"
MODEL_FILE = DATA / "reader-int8.onnx"
TOKENIZER_FILE = DATA / "reader-tokenizer.json"
# Recorded in READER.md beside the files; a file that differs is refused, not run.
MODEL_SHA256 = "a8b70d1c0c0eb72238745a6ab10fd9b50d045a41e9c1ea7aa831acfaf3bbba78"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# Question and passage together, in word pieces, as in training: the longer one is cut.
MAX_TOKENS = 64
# Logits are rounded so that a last-bit difference between machines cannot reorder answers.
_DECIMALS = 4


class ReaderUnavailableError(RuntimeError):
    """The reader's files are missing or not the ones recorded."""


@dataclass(frozen=True, slots=True)
class ReaderFiles:
    """Where the model and tokenizer are, and the checksums they must have."""

    model: Path = MODEL_FILE
    tokenizer: Path = TOKENIZER_FILE
    model_sha256: str = MODEL_SHA256
    tokenizer_sha256: str = TOKENIZER_SHA256


class Reader:
    """Scores (question, passage) pairs: a logit, higher when the passage answers.

    The files are checked and the model loaded on first use (or by `load`), so a command that
    never asks pays nothing for it.
    """

    def __init__(self, files: ReaderFiles = ReaderFiles()) -> None:
        self.files = files
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def load(self) -> None:
        """Check the files and load the model now; ReaderUnavailableError says what is wrong."""
        self._parts()

    def _parts(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.files)
            return self._loaded

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One logit per passage, for that passage read as an answer to the question."""
        if not passages:
            return np.zeros(0, dtype=np.float64)
        tokenizer, session = self._parts()
        encoded = tokenizer.encode_batch([(question, passage) for passage in passages])
        width = max(len(each.ids) for each in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, each in enumerate(encoded):
            length = len(each.ids)
            ids[row, :length] = each.ids
            types[row, :length] = each.type_ids
            mask[row, :length] = 1
        (logits,) = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )
        return np.round(logits[:, 0].astype(np.float64), _DECIMALS)


def _load(files: ReaderFiles) -> tuple[Any, Any]:
    # Imported here so that a process that never reads does not load onnxruntime.
    import onnxruntime
    from tokenizers import Tokenizer

    model_bytes = _checked(files.model, files.model_sha256)
    tokenizer = Tokenizer.from_str(_checked(files.tokenizer, files.tokenizer_sha256).decode())
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    options = onnxruntime.SessionOptions()
    # One thread: answers are computed in a pool of threads already, and a single thread's
    # sums come out the same way every time.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(
        model_bytes, options, providers=["CPUExecutionProvider"]
    )
    return tokenizer, session


def _checked(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        message = f"the reader's file {path.name} cannot be read: {error}"
        raise ReaderUnavailableError(message) from error
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ReaderUnavailableError(
            f"the reader's file {path.name} is not the one recorded (sha256 {digest})"
        )
    return data
