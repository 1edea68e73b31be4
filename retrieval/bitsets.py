"""A posting list's rows as a bitset: a row's position in the list found by counting bits.

About twice as cheap as a binary search in the rows, for 1/8 byte a row of the segment and
1/16 for the counts.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Bit masks for the look-ups: the bits below each position in a 64-bit word.
_BELOW = np.array([(1 << shift) - 1 for shift in range(64)], dtype=np.uint64)
_ONE = np.uint64(1)
_LOW_SIX = np.uint64(63)


class Bits(NamedTuple):
    """A list's rows as a bitset, 64 rows a word, and how many rows come before each word."""

    words: np.ndarray
    ranks: np.ndarray


def bitset(rows: np.ndarray, size: int) -> Bits:
    """The bitset of ascending distinct rows below size, with each word's rank."""
    word_of = rows >> 6
    starts = np.flatnonzero(np.concatenate(([True], word_of[1:] != word_of[:-1])))
    words = np.zeros((size + 63) // 64, dtype=np.uint64)
    bit = np.left_shift(_ONE, (rows & 63).astype(np.uint64))
    words[word_of[starts]] = np.bitwise_or.reduceat(bit, starts)
    ranks = np.zeros(len(words), dtype=np.int32)
    np.cumsum(np.bincount(word_of, minlength=len(words))[:-1], out=ranks[1:])
    return Bits(words, ranks)


def find(bits: Bits, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of these rows (intp, below the size) are in the list, and their positions in it."""
    word_of = rows >> 6
    words = bits.words[word_of]
    shift = rows.view(np.uint64) & _LOW_SIX  # rows are intp: 64 bits
    hit = ((words >> shift) & _ONE).nonzero()[0]  # most candidates are not there
    word_of, words, shift = word_of[hit], words[hit], shift[hit]
    return hit, bits.ranks[word_of] + np.bitwise_count(words & _BELOW[shift])
