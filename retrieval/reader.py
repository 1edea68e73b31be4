"""The reader: a small cross-encoder that reads a question and a sentence together.

BM25 and the re-ranker see words; the reader sees meaning. It is the bottom three layers of
all-MiniLM-L6-v2, trained as a cross-encoder to give the logits of a six-layer one fine-tuned
on the tuning halves of public data (retrieval/build_reader.py, its provenance and licence in
retrieval/data/READER.md): the same quality in half the time. It is quantised to int8 and run
by onnxruntime: no PyTorch, nothing downloaded. Its logit says how likely the sentence answers
the question; answer.py ranks and decides with it.

A question's candidates are read together, as one batch in the re-ranker's order (int8
quantisation scales each batch as a whole), so the same question over the same documents
gets the same logits, and the same answer, every time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.onnx_model import DATA, ModelFiles, OnnxModel

MODEL_FILE = DATA / "reader-int8.onnx"
# Recorded in READER.md beside the file; a file that differs is refused, not run.
MODEL_SHA256 = "2820dc800212908cac8766b2c709d719b74da7c7c2629e64c38119735fea9a9b"
READER_FILES = ModelFiles(MODEL_FILE, MODEL_SHA256)
# Question and passage together, in word pieces, as in training: the longer one is cut.
MAX_TOKENS = 64
# Reading is most of an answer's time: on two threads (this machine's two cores) an answer at
# 100k sentences took 75 ms at the median where one thread took 96, with the same logits
# (round 6's 14 pairs; benchmarks/results/speed_reader.md).
THREADS = 2
# Logits are rounded so that a last-bit difference between machines cannot reorder answers.
_DECIMALS = 4


class Reader(OnnxModel):
    """Scores (question, passage) pairs: a logit, higher when the passage answers.

    The files are checked and the model loaded on first use (or by `load`), so a command that
    never asks pays nothing for it.
    """

    def __init__(self, files: ModelFiles = READER_FILES, threads: int = THREADS) -> None:
        super().__init__(files, MAX_TOKENS, threads)

    def score(self, question: str, passages: Sequence[str]) -> np.ndarray:
        """One logit per passage, for that passage read as an answer to the question."""
        if not passages:
            return np.zeros(0, dtype=np.float64)
        logits, _mask = self.run([(question, passage) for passage in passages])
        return np.round(logits[:, 0].astype(np.float64), _DECIMALS)
