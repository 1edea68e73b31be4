"""How rare a word is in general English, from the word counts pyspellchecker ships.

A document's IDF is coarse: in one article most words occur in a single sentence, so common
and rare words often weigh alike. Scaling each question term's IDF by its general-English
rarity lets the re-ranker and the confidence weigh names and rare words over common ones
(benchmarks/results/quality.md, round 4). The counts are pyspellchecker's bundled English
list (160,000 lower-case words counted in film subtitles, MIT licence), read from the
installed package when this module is imported (about 0.2 s): nothing downloads.
"""

from __future__ import annotations

import functools
import math

from spellchecker import SpellChecker

# Words more common than one in 10**OFFSET of all words weigh nothing (the, of, and, …);
# rarer ones gain one per tenfold rarity. 2 measured best on the tuning data (0, 1, 2.5 and 3:
# within 0.2 point; the rarity squared or square-rooted: less).
OFFSET = 2.0


def _load() -> tuple[dict[str, int], float, float]:
    """The English word counts above the lowest, log10 of their total, and the lowest count."""
    frequency = SpellChecker(language="en", distance=1).word_frequency
    # Two thirds of the list sit at its lowest count (50). Weighing them as words the list
    # lacks measured the same on the tuning data and keeps 6 MB in memory, not 14.
    lowest = min(frequency.dictionary.values())
    counts = {word: count for word, count in frequency.dictionary.items() if count > lowest}
    return counts, math.log10(frequency.total_words), lowest


# Loaded at import, not on the first question: a bot (or a process forked from one that has
# imported it) then answers its first question as fast as the rest.
_COUNTS, _LOG_TOTAL, _LOWEST = _load()


@functools.lru_cache(maxsize=65_536)
def rarity(word: str) -> float:
    """How rare a (case-folded) word is in English: log10(1 / its frequency) - OFFSET, >= 0.

    Numbers, rare names and words the list lacks get the highest rarity (about 5.5).
    """
    return max(0.0, _LOG_TOTAL - math.log10(_COUNTS.get(word, _LOWEST)) - OFFSET)


def english_count(word: str) -> int:
    """How often a (case-folded) word occurs in the list.

    0 for a word at the list's lowest count or not in it: a rare word, a name, a misspelling.
    """
    return _COUNTS.get(word, 0)
