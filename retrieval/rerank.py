"""Re-rank BM25's best sentences by what BM25 cannot see: answer type, proximity, context."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.rarity import rarity
from retrieval.related import related
from retrieval.term_table import TermTable, followers
from retrieval.types import Sentence


class AnswerType(Enum):
    """What kind of thing the question asks for, read from its wording."""

    NUMBER = "number"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"


# Greater than any rank of first appearance.
_LAST = np.iinfo(np.int64).max
# How much of a candidate's text the signals that read it (answer type, word forms) read.
# Sentences are cut at 1,000 characters when split; one stored before could be megabytes,
# and reading all of it cost a fifth of a second a question.
_READ_CHARS = 4_000

# The signals candidate_features computes, in the order of its columns.
FEATURES = (
    "bm25",
    "answer_type",
    "proximity",
    "phrase",
    "coverage",
    "context_before",
    "context_after",
    "novelty",
    "neighbours",
    "surface",
    "prefix",
    "related",
)

# A question word the sentence lacks still counts as near when a word of the sentence starts
# with its first PREFIX letters (decide/decision, Norman/Normandy): Snowball misses many such
# derivations. Four letters measured best on the tuning data (three and five: less).
PREFIX = 4


@dataclass(frozen=True, slots=True)
class RerankWeights:
    """How much each signal of a candidate sentence adds to its score (0 turns a signal off).

    score = bm25 * BM25 / (the best candidate's BM25) + answer_type * [holds the kind of answer
    asked for] + proximity * closeness + phrase * shared_bigrams + coverage * [share of the
    question's weight in the sentence] + context_before / context_after * [share the sentence
    just before / after adds to it] + novelty * [share of the sentence's terms not in the
    question] + neighbours * (BM25 of the candidates just before and after) / (the best)
    + surface * [share of the question's weight whose very word, not only its stem, is in
    the sentence] + prefix * [share of the weight of the question's words the sentence lacks
    but holds a word starting with the same PREFIX letters] + related * [share of the weight
    of the question's terms the sentence lacks but holds a term WordNet relates to].
    The question's weights are what the caller gives (answer.question_weights: each term's IDF
    times its general-English rarity). The candidates are BM25's best `candidates`, then the
    sentence after each of the best `followers` (with_followers). A linear model fitted on
    SelQA dev and half of SQuAD dev (benchmarks/quality_learn.py).
    """

    answer_type: float = 0.64
    proximity: float = 0.05
    phrase: float = 0.38
    neighbours: float = 0.15
    candidates: int = 20
    followers: int = 2
    bm25: float = 1.0
    coverage: float = 1.04
    context_before: float = 1.23
    context_after: float = 0.36
    novelty: float = 0.0
    surface: float = 0.77
    prefix: float = 0.53
    related: float = 0.95

    def vector(self) -> tuple[float, ...]:
        """The weights in the order of `candidate_features`' columns (FEATURES)."""
        return tuple(getattr(self, name) for name in FEATURES)


NO_RERANK = RerankWeights(
    answer_type=0.0,
    proximity=0.0,
    phrase=0.0,
    neighbours=0.0,
    coverage=0.0,
    context_before=0.0,
    context_after=0.0,
    novelty=0.0,
    surface=0.0,
    prefix=0.0,
    related=0.0,
    followers=0,
)

_UNITS = (
    r"many|much|long|far|old|large|big|tall|high|often|fast|heavy|wide|deep|"
    r"few|small|short|expensive|hot|cold|warm"
)
_MEASURES = r"percentage|percent|number|amount|proportion|share|population|size|total|cost"
_TIMES = r"year|years|date|day|days|month|century|centuries|decade|decades|time|period|era|age"
_PLACES = (
    r"city|cities|country|countries|state|states|place|places|region|location|town|continent|"
    r"island|river|county|province|area|nation|capital|street|building|stadium|venue|university"
)
_QUESTION_TYPES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (AnswerType.NUMBER, re.compile(rf"\bhow ({_UNITS})\b|\b(what|which) ({_MEASURES})\b")),
    (AnswerType.DATE, re.compile(rf"\bwhen\b|\b(what|which|in what) ({_TIMES})\b")),
    (AnswerType.PERSON, re.compile(r"\bwho(m|se)?\b|\b(what|which) (person|people|man|woman)\b")),
    (AnswerType.PLACE, re.compile(rf"\bwhere\b|\b(what|which|in what) ({_PLACES})\b")),
)
_NUMBER_WORDS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty
    fifty hundred hundreds thousand thousands million millions billion billions dozen dozens
    half quarter twice double triple percent
    """.split()
)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_DATE_WORDS = frozenset(
    """
    january february march april may june july august september october november december
    century centuries decade decades bc bce ad ce
    """.split()
)
# A year (1066, the 1990s) or an ordinal (21st), as a whole word.
_DATE_NUMBER = re.compile(r"(?:1\d{3}|20\d{2})s?|\d+(?:st|nd|rd|th)")
_WORD = re.compile(r"\w+")
# A question's words, as has_answer_type compares them with a sentence's.
_QUESTION_WORD = re.compile(r"[\w'’-]+")
# A capitalised word after a space, a bracket or a quote: a name or a place.
_PROPER = re.compile(r"[\s(\"']([A-Z][\w'’-]+)")


def answer_type(question: str) -> AnswerType | None:
    """The answer type a question asks for, if its wording says (how many → a number, …)."""
    folded = question.casefold()
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(folded):
            return kind
    return None


def has_answer_type(kind: AnswerType, sentence: str, question_words: frozenset[str]) -> bool:
    """Whether the sentence holds something of that type that the question does not already.

    Number and date words count as whole words only, so the sentence's words are looked up in
    a set: matching an alternation of words at every position cost 25-35 us a sentence.
    """
    if kind is AnswerType.PERSON or kind is AnswerType.PLACE:
        return any(name.casefold() not in question_words for name in _PROPER.findall(sentence))
    folded = sentence.lower() if sentence.isascii() else sentence.casefold()
    words = set(_WORD.findall(folded))
    words.difference_update(question_words)
    if kind is AnswerType.NUMBER:
        return not _NUMBER_WORDS.isdisjoint(words) or any(
            digits not in question_words for digits in _DIGITS.findall(folded)
        )
    return not _DATE_WORDS.isdisjoint(words) or any(
        word[0].isdigit() and _DATE_NUMBER.fullmatch(word) is not None for word in words
    )


@dataclass(frozen=True, slots=True)
class Question:
    """A question analysed once for re-ranking."""

    text: str
    terms: tuple[str, ...]
    kind: AnswerType | None
    words: frozenset[str]
    # The distinct terms in order, and each distinct pair of adjacent terms as their columns.
    distinct: tuple[str, ...]
    pairs: np.ndarray
    # Per distinct term: the question's words (folded) that gave it, and their first PREFIX
    # letters (only of words at least that long and alphabetic there: not of numbers).
    surfaces: tuple[tuple[str, ...], ...]
    prefixes: tuple[tuple[str, ...], ...]
    # Per distinct term: the general-English rarity of the first word that gave it.
    rarity: tuple[float, ...]
    # The terms WordNet relates to each distinct term (retrieval.related) that the question
    # lacks, and which distinct term (rows) each of them (columns) is related to.
    related_terms: tuple[str, ...]
    related_to: np.ndarray

    @classmethod
    def of(cls, text: str, analyzer: Analyzer) -> Question:
        """Analyse a question with the analyzer its documents were indexed with."""
        words = frozenset(word.casefold() for word in _QUESTION_WORD.findall(text))
        spans = list(analyzer.term_spans(text))
        terms = tuple(term for _, _, term in spans)
        distinct = tuple(dict.fromkeys(terms))
        column = {term: i for i, term in enumerate(distinct)}
        adjacent = list(
            dict.fromkeys((column[a], column[b]) for a, b in zip(terms, terms[1:], strict=False))
        )
        pairs = np.array(adjacent, dtype=np.intp).reshape(len(adjacent), 2)
        forms: list[dict[str, None]] = [{} for _ in distinct]
        for start, end, term in spans:
            forms[column[term]][Analyzer.normalize(text[start:end])] = None
        surfaces = tuple(tuple(each) for each in forms)
        prefixes = tuple(
            tuple(
                dict.fromkeys(
                    word[:PREFIX]
                    for word in each
                    if len(word) >= PREFIX and word[:PREFIX].isalpha()
                )
            )
            for each in surfaces
        )
        rarities = tuple(rarity(each[0]) for each in surfaces)
        # Each term's related terms in a block of columns of their own; a term related to two
        # question terms is read twice, which is rarer and cheaper than de-duplicating.
        linked = [[other for other in related(term) if other not in column] for term in distinct]
        related_to = np.zeros((len(distinct), sum(map(len, linked))), dtype=bool)
        start = 0
        for j, others in enumerate(linked):
            related_to[j, start : start + len(others)] = True
            start += len(others)
        return cls(
            text,
            terms,
            answer_type(text),
            words,
            distinct,
            pairs,
            surfaces,
            prefixes,
            rarities,
            tuple(itertools.chain.from_iterable(linked)),
            related_to,
        )


class Rescored(NamedTuple):
    """A candidate after re-ranking, with what the answer needs to cite and threshold it."""

    sentence: Sentence
    score: float
    coverage: float
    before: Sentence | None
    after: Sentence | None


def weight_share(weights: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The share of the terms' weight each column of `present` (terms x ...) holds.

    The one computation of the question's IDF coverage: the re-ranker's coverage and context
    signals and the answer's confidence all come from here. Sums run term by term in the
    question's order (cumsum is sequential, whatever the array's shape), so a sentence gets
    the same bits alone or among others.
    """
    if not len(weights):
        return np.zeros(present.shape[1:], dtype=np.float64)
    total = np.cumsum(weights)[-1]
    if total <= 0:
        return np.zeros(present.shape[1:], dtype=np.float64)
    held = np.where(present, weights.reshape((-1,) + (1,) * (present.ndim - 1)), 0.0)
    return np.cumsum(held, axis=0)[-1] / total


def candidate_features(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    index: SentenceIndex,
    idf: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Each candidate's signals (candidates x FEATURES, in RerankWeights.vector's order)."""
    return _features(question, candidates, _table(question, candidates, index), idf)


def with_followers(
    index: SentenceIndex,
    candidates: Sequence[tuple[Sentence, float]],
    query: Sequence[str],
    count: int,
) -> list[tuple[Sentence, float]]:
    """The candidates, then the sentence after each of the first `count` (not one already).

    An answer often follows the sentence that names its subject ("He was born in 1856.") and
    shares none of the question's words, so BM25 alone never proposes it. Each follower comes
    with its exact BM25 score for the query (often 0).
    """
    if count <= 0 or not candidates:
        return list(candidates)
    have = {sentence.id for sentence, _ in candidates}
    lead = [sentence for sentence, _ in candidates[:count]]
    added = [each for each in followers(index, lead, query) if each[0].id not in have]
    return [*candidates, *added]


def rerank(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    index: SentenceIndex,
    weights: RerankWeights,
    idf: Mapping[str, float] | None = None,
) -> list[Rescored]:
    """The candidates (with BM25 scores, from `index`) re-scored and sorted best first.

    `idf` weighs the question's terms (equal weights without it). Equal scores keep BM25's
    (document) order.
    """
    if not candidates:
        return []
    table = _table(question, candidates, index)
    features = _features(question, candidates, table, idf)
    scores = features @ _weight_vector(weights)
    coverage = features[:, FEATURES.index("coverage")].tolist()
    values = scores.tolist()
    return [
        Rescored(candidates[i][0], values[i], coverage[i], table.before[i], table.after[i])
        for i in np.argsort(-scores, kind="stable").tolist()
    ]


@functools.cache
def _weight_vector(weights: RerankWeights) -> np.ndarray:
    """The weights as a vector in FEATURES' order (few distinct weights: kept for good)."""
    vector = np.asarray(weights.vector(), dtype=np.float64)
    vector.setflags(write=False)
    return vector


def _table(
    question: Question, candidates: Sequence[tuple[Sentence, float]], index: SentenceIndex
) -> TermTable:
    return TermTable.build(
        index, [sentence for sentence, _ in candidates], question.distinct, question.related_terms
    )


def _features(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    table: TermTable,
    idf: Mapping[str, float] | None,
) -> np.ndarray:
    """The signals of FEATURES from the term table; only the answer type reads the text.

    A sentence's terms are seen as its distinct terms in order of first appearance (what the
    postings' ranks give): proximity is the number of distinct question terms it holds over
    the span of ranks they take, and a question bigram counts as shared when its second term
    first appears right after its first. Coverage, context, novelty and neighbours are exact.
    """
    terms = question.distinct
    n = len(candidates)
    if n == 0:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    weights = np.array(
        [idf[term] for term in terms] if idf is not None else [1.0] * len(terms),
        dtype=np.float64,
    )
    tf, rank = table.tf, table.rank
    # Terms x (candidates, the sentences before them, the sentences after them, the candidates
    # holding the very word, those holding a word with its first letters, those lacking the
    # term but holding a term related to it): one weight_share.
    held = np.empty((len(terms), 6, n), dtype=bool)
    np.greater(tf.reshape(len(terms), 3, n), 0, out=held[:, :3])
    present = held[:, 0]
    held[:, 1:3] &= ~present[:, None, :]
    _word_forms(question, candidates, present, held[:, 3], held[:, 4])
    # A term counts as related-held when one of its related terms is in the candidate.
    np.matmul(question.related_to, table.holds, out=held[:, 5])
    held[:, 5] &= ~present
    own, context_before, context_after, surface, prefix, linked = weight_share(weights, held)
    matched = present.sum(axis=0)
    low = np.where(present, rank, _LAST).min(axis=0)
    high = rank.max(axis=0)  # ABSENT is below every rank
    # Under two matched terms the span is meaningless (and may overflow): divide by inf.
    proximity = matched / np.where(matched >= 2, high - low + 1, np.inf)
    if len(question.pairs):
        first, second = question.pairs[:, 0], question.pairs[:, 1]
        # The second term's rank is then at least 1: it is present too.
        adjacent = present[first] & (rank[second] - rank[first] == 1)
        phrase = adjacent.sum(axis=0) / len(question.pairs)
    else:
        phrase = np.zeros(n)
    # Benchmarks also rank sentences without terms (a paragraph's every sentence).
    lengths = table.lengths
    novelty = np.where(lengths > 0, 1.0 - tf[:, :n].sum(axis=0) / np.maximum(lengths, 1), 0.0)
    scores = [score for _, score in candidates]
    top = max(scores)
    top = top if top > 0 else 1.0
    # A neighbour's BM25 counts only if it is a candidate too; the others are weak.
    by_key = dict(zip(table.keys, scores, strict=True))
    nearby = [
        by_key.get(before, 0.0) + by_key.get(after, 0.0)
        for before, after in zip(table.before_keys, table.after_keys, strict=True)
    ]
    kind = question.kind
    typed = (
        [
            float(has_answer_type(kind, sentence.text[:_READ_CHARS], question.words))
            for sentence, _ in candidates
        ]
        if kind is not None
        else [0.0] * n
    )
    columns = {
        "bm25": np.array(scores) / top,
        "answer_type": typed,
        "proximity": proximity,
        "phrase": phrase,
        "coverage": own,
        "context_before": context_before,
        "context_after": context_after,
        "novelty": novelty,
        "neighbours": np.array(nearby, dtype=np.float64) / top,
        "surface": surface,
        "prefix": prefix,
        "related": linked,
    }
    features = np.empty((n, len(FEATURES)), dtype=np.float64)
    for column, name in enumerate(FEATURES):
        features[:, column] = columns[name]
    return features


def _word_forms(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    present: np.ndarray,
    same: np.ndarray,
    near: np.ndarray,
) -> None:
    """Mark which candidates hold each question term's very word, or a word like it.

    `same` (terms x candidates): the candidate holds the term and one of the question's words
    that gave it; `near`: it lacks the term but holds a word starting with the first PREFIX
    letters of one of those words. They feed the surface and prefix signals (RerankWeights).
    The postings hold stems only, so this reads the text, but with substring searches only
    (no analysis): a few microseconds per candidate.
    """
    texts = [_fold(sentence.text[:_READ_CHARS]) for sentence, _ in candidates]
    same[:] = False
    near[:] = False
    # Term by term over the texts: `find` first, a C-speed test that usually settles it.
    for j, holds in enumerate(present.tolist()):
        surfaces, prefixes = question.surfaces[j], question.prefixes[j]
        for i, text in enumerate(texts):
            if holds[i]:
                for word in surfaces:
                    at = text.find(word)
                    if at >= 0 and _holds_word(text, word, at, True):
                        same[j, i] = True
                        break
            elif prefixes:
                for start in prefixes:
                    at = text.find(start)
                    if at >= 0 and _holds_word(text, start, at, False):
                        near[j, i] = True
                        break


def _fold(text: str) -> str:
    """Case-fold a sentence as the analyzer folds the question's words.

    Analyzer.normalize also maps curly quotes and dashes to ASCII, which changes no letter or
    digit and so no match here; skipping it saves most of the cost on non-ASCII text.
    """
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def _holds_word(text: str, word: str, at: int, whole: bool) -> bool:
    """Whether `word` starts a word of the (folded) text, and ends it too when `whole`.

    `at` is where `word` first occurs in the text (the caller has found it already).
    """
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not text[at - 1].isalnum()) and (
            not whole or end == len(text) or not text[end].isalnum()
        ):
            return True
        at = text.find(word, at + 1)
    return False
