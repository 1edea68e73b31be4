"""The embedder: all-MiniLM-L6-v2 as a sentence encoder, for meaning beyond the words.

A question and a sentence that say the same thing in other words ("does xz stand for
something" / "What do the letters XZ mean?") get vectors close together. Each text is encoded
alone (int8 quantisation scales a batch as a whole), so a sentence's vector never depends on
what it was embedded with, and answers stay the same whatever order documents came in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from retrieval.onnx_model import DATA, ModelFiles, OnnxModel

MODEL_FILE = DATA / "embedder-int8.onnx"
MODEL_SHA256 = "4fc224e38b5464b29f689efdca2f8e2c42eefe0d2f3ebf296774c0bfd7bc9cd7"
EMBEDDER_FILES = ModelFiles(MODEL_FILE, MODEL_SHA256)
# Sentences are cut at this many word pieces (all-MiniLM-L6-v2 was trained on 128).
MAX_TOKENS = 128
DIMENSIONS = 384


class Embedder(OnnxModel):
    """Unit-length vectors for texts: their dot product is their cosine similarity."""

    def __init__(self, files: ModelFiles = EMBEDDER_FILES) -> None:
        super().__init__(files, MAX_TOKENS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, each encoded on its own, mean-pooled, unit length."""
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            states, mask = self.run([text])
            pooled = (states[0] * mask[0][:, None]).sum(axis=0) / max(int(mask[0].sum()), 1)
            norm = float(np.linalg.norm(pooled))
            if norm > 0:
                vectors[row] = pooled / norm
        return vectors
