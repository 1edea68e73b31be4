"""Mend a question's misspelt words against the words its documents use.

Members type fast: "diffrence", "harrassing", "specifiy". A misspelt word matches no
sentence, and a word no document uses counts against answering, so one slip can cost the
answer. A word is mended only when all of these hold: its term occurs in no document, it is not
a word of general English (pyspellchecker's counts, as retrieval.rarity reads them) nor one
with its apostrophe left out ("havent"), it is at least MIN_LETTERS letters long, and one edit
(a letter dropped, added, changed, or two swapped) turns it into an English word whose term the
documents do use. Of several such words the one in most sentences wins ("theads": "threads" in
a threading FAQ, not "heads"), then the most common in English, then the first in the
alphabet, so answers stay deterministic.
"""

from __future__ import annotations

import re
import string

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.rarity import english_count

# Shorter words are one edit from too many others ("cat" -> "cut", "car", "at") to guess.
MIN_LETTERS = 5
_WORD = re.compile(r"[^\W\d_]+")
_LETTERS = string.ascii_lowercase


def one_edit(word: str) -> set[str]:
    """Every string one letter-drop, letter-swap, letter-change or letter-insert from word."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    dropped = {left + right[1:] for left, right in splits if right}
    swapped = {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    changed = {left + c + right[1:] for left, right in splits if right for c in _LETTERS}
    inserted = {left + c + right for left, right in splits for c in _LETTERS}
    return (dropped | swapped | changed | inserted) - {word}


def mended_word(word: str, analyzer: Analyzer, index: SentenceIndex) -> str | None:
    """The word the documents use that a misspelt word most likely meant; None: leave it."""
    folded = word.lower()
    if len(folded) < MIN_LETTERS or not folded.isascii() or english_count(folded):
        return None
    if _sentences_using(folded, analyzer, index) or _is_contraction(folded):
        return None
    ranked = [
        (-_sentences_using(each, analyzer, index), -english_count(each), each)
        for each in one_edit(folded)
        if english_count(each)
    ]
    best = min(ranked, default=None)
    return None if best is None or best[0] == 0 else best[2]


def mended(question: str, analyzer: Analyzer, index: SentenceIndex) -> str:
    """The question with each misspelt word replaced by the word it most likely meant."""

    def mend(match: re.Match[str]) -> str:
        return mended_word(match.group(), analyzer, index) or match.group()

    return _WORD.sub(mend, question)


def _sentences_using(word: str, analyzer: Analyzer, index: SentenceIndex) -> int:
    """How many sentences have the word's term; a stopword counts as everywhere."""
    terms = analyzer.analyze(word)
    return max((index.document_frequency(term) for term in terms), default=len(index))


def _is_contraction(word: str) -> bool:
    """Whether the word is an English contraction with its apostrophe left out ("dont")."""
    return any(english_count(f"{word[:i]}'{word[i:]}") for i in range(1, len(word)))
