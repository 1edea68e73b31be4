"""The analyzer shared by documents and questions: normalise, fold case, tokenize, stem."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from nltk.stem.snowball import SnowballStemmer

# Our own list, kept short on purpose: articles, the auxiliaries "be" and "do", "of/to/in/and/or",
# demonstratives, "it", the question words and contraction fragments. Everything else, even
# prepositions and pronouns, helped rank the answering sentence on SelQA dev and half of SQuAD
# dev (a classic 150-word list cost 0.7 points of SQuAD accuracy@1). Words that carry the
# question's meaning (numbers, negations, "first", "most") are kept.
STOPWORDS = frozenset(
    """
    a an the of to in and or is am are was were be been being do does did
    this that these those it its what which who whom whose when where why how
    s t d ll m re ve
    """.split()
)
_PUNCTUATION = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
    }
)
# Acronyms with dots (U.S., e.g.), numbers with thousands separators or decimals, then words.
_TOKEN = re.compile(
    r"(?P<acronym>\b(?:[^\W\d_]\.){2,})"
    r"|(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"|(?P<word>[^\W_]+)"
)

# How many analysed texts are remembered (~20 terms each, sharing the term strings: a few MB).
_TEXT_CACHE = 20_000
# How many words' terms are remembered; past it, new words are stemmed every time they come.
_TERM_CACHE = 1_000_000


class Analyzer:
    """Turns text into index terms; the same instance serves documents and questions."""

    def __init__(
        self,
        stopwords: frozenset[str] = STOPWORDS,
        language: str = "english",
        *,
        stem: bool = True,
        numbers: bool = True,
        normalize: bool = True,
    ) -> None:
        """Options exist so the quality benchmark can measure each idea; defaults ship."""
        self._stopwords = stopwords
        self._stemmer = SnowballStemmer(language)
        self._stem = stem
        self._numbers = numbers
        self._normalize = normalize
        # Stemming is the hot loop; a dict lookup is far cheaper than Snowball.
        self._terms: dict[str, str | None] = {}
        # Whole texts too: re-ranking analyses the same candidate sentences question after
        # question.
        self._texts: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def normalize(text: str) -> str:
        """Unicode-normalise and case-fold, mapping curly quotes and dashes to ASCII."""
        if text.isascii():
            # Nothing to normalise, and ASCII case folding is lower(): the common, fast case.
            return text.lower()
        return unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold()

    def analyze(self, text: str) -> list[str]:
        """The index terms of a text, in order (the same as term_spans gives, without spans)."""
        cached = self._texts.get(text)
        if cached is not None:
            return list(cached)
        # findall without Match objects: re-ranking analyses every candidate sentence and
        # its neighbours for each question, so this is the answer path's hot loop.
        known = self._terms
        terms = []
        for acronym, number, word in _TOKEN.findall(self._fold(text)):
            if word:
                term = known[word] if word in known else self._term(word, "word")
            elif number:
                term = self._term(number, "number")
            else:
                term = self._term(acronym, "acronym")
            if term is not None:
                terms.append(term)
        if len(self._texts) >= _TEXT_CACHE:
            # Bounded without bookkeeping: start over; popular sentences come straight back.
            self._texts.clear()
        self._texts[text] = tuple(terms)
        return terms

    def forget_texts(self) -> None:
        """Drop the cache of analysed texts (benchmarks measure the uncached path with it)."""
        self._texts.clear()

    def term_spans(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Each term with its character span in the text as given (for highlighting).

        The terms are exactly analyze()'s: tokens are found in the folded text, and each
        folded character maps back to the stretch of the original it came from.
        """
        if text.isascii():
            # ASCII folding is lower(): one character for one, so offsets carry over.
            folded, starts, ends = self._fold(text), None, None
        else:
            folded, starts, ends = self._fold_with_offsets(text)
        for match in _TOKEN.finditer(folded):
            term = self._term(match.group(), match.lastgroup or "word")
            if term is None:
                continue
            if starts is None or ends is None:
                yield match.start(), match.end(), term
            else:
                yield starts[match.start()], ends[match.end() - 1], term

    def _fold(self, text: str) -> str:
        return self.normalize(text) if self._normalize else text.lower()

    def _fold_with_offsets(self, text: str) -> tuple[str, list[int], list[int]]:
        """The folded text, and for each of its characters the span of the original it is from.

        Normalisation composes a character with the combining marks after it ("e" + U+0301 ->
        "é") and may expand one character into several ("ß" -> "ss"), so it is applied to each
        base character with its marks, and every output character points at that whole unit.
        """
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        unit_start = 0
        for i in range(1, len(text) + 1):
            if i < len(text) and unicodedata.combining(text[i]):
                continue
            piece = self._fold(text[unit_start:i])
            pieces.append(piece)
            starts.extend([unit_start] * len(piece))
            ends.extend([i] * len(piece))
            unit_start = i
        return "".join(pieces), starts, ends

    def _term(self, raw: str, kind: str) -> str | None:
        key = raw if kind == "word" else f"{kind}:{raw}"
        try:
            return self._terms[key]
        except KeyError:
            pass
        if kind == "acronym":
            term: str | None = raw.replace(".", "")
        elif kind == "number":
            term = raw.replace(",", "") if self._numbers else raw
        elif raw in self._stopwords:
            term = None
        elif self._stem:
            term = self._stemmer.stem(raw)
        else:
            term = raw
        if len(self._terms) < _TERM_CACHE:
            self._terms[key] = term
        return term
