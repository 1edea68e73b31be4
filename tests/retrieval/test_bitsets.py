"""A list's bitset finds exactly the rows a binary search finds, at the same positions."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.bitsets import bitset, find


@pytest.mark.parametrize("size", [1, 63, 64, 65, 1000, 4096])
@pytest.mark.parametrize("density", [0.01, 0.5, 1.0])
def test_find_agrees_with_a_binary_search(size, density):
    rng = np.random.default_rng(size * 7 + int(density * 100))
    chosen = rng.random(size) < density
    chosen[rng.integers(size)] = True  # lists with bitsets are long: never empty
    rows = np.flatnonzero(chosen).astype(np.intp)
    if density == 1.0:
        assert len(rows) == size  # every row, word boundaries included
    bits = bitset(rows, size)
    asked = np.sort(rng.integers(0, size, 3 * size)).astype(np.intp)
    hit, rank = find(bits, asked)
    where = np.searchsorted(rows, asked)
    present = (where < len(rows)) & (rows[np.minimum(where, len(rows) - 1)] == asked)
    assert hit.tolist() == np.flatnonzero(present).tolist()
    assert rank.tolist() == where[present].tolist()
