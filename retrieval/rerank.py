"""Re-rank BM25's best sentences by what BM25 cannot see: answer type, proximity, context."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from retrieval.analyzer import Analyzer
from retrieval.types import Sentence

Neighbours = Callable[[Sentence], tuple[Sentence | None, Sentence | None]]


class AnswerType(Enum):
    """What kind of thing the question asks for, read from its wording."""

    NUMBER = "number"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"


@dataclass(frozen=True, slots=True)
class RerankWeights:
    """How much each signal adds to a candidate's BM25 score (0 turns a signal off).

    score = bm25 * (1 + answer_type * has_answer_type + proximity * closeness
    + phrase * shared_bigrams) + neighbours * (BM25 of the sentences just before and after).
    Chosen on SelQA dev and half of SQuAD dev (benchmarks/quality_tune.py).
    """

    answer_type: float = 0.4
    proximity: float = 0.2
    phrase: float = 0.2
    neighbours: float = 0.15
    candidates: int = 12


NO_RERANK = RerankWeights(answer_type=0.0, proximity=0.0, phrase=0.0, neighbours=0.0)

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
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|"
    r"dozen|dozens|half|quarter|twice|double|triple|percent"
)
_NUMBER = re.compile(rf"\d+(?:[.,]\d+)*|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
_DATE = re.compile(
    rf"\b(1\d{{3}}|20\d{{2}})s?\b|\b({_MONTHS})\b|\bcentur(y|ies)\b|\b\d+(st|nd|rd|th)\b|"
    r"\b(bc|bce|ad|ce)\b|\bdecades?\b",
    re.IGNORECASE,
)
_PROPER = re.compile(r"(?<=[\s(\"'])([A-Z][\w'’-]+)")


def answer_type(question: str) -> AnswerType | None:
    """The answer type a question asks for, if its wording says (how many → a number, …)."""
    folded = question.casefold()
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(folded):
            return kind
    return None


def has_answer_type(kind: AnswerType, sentence: str, question_words: frozenset[str]) -> bool:
    """Whether the sentence holds something of that type that the question does not already."""
    if kind is AnswerType.NUMBER:
        pattern = _NUMBER
    elif kind is AnswerType.DATE:
        pattern = _DATE
    else:
        pattern = _PROPER
    return any(
        match.group().casefold() not in question_words for match in pattern.finditer(sentence)
    )


def closeness(question_terms: Sequence[str], sentence_terms: Sequence[str]) -> float:
    """How tightly the question's terms sit together in the sentence: 1 when adjacent.

    The shortest stretch of the sentence holding every distinct matched term, compared with
    the number of those terms; 0 when fewer than two terms match.
    """
    wanted = set(question_terms)
    positions = [(i, term) for i, term in enumerate(sentence_terms) if term in wanted]
    distinct = len({term for _, term in positions})
    if distinct < 2:
        return 0.0
    counts: dict[str, int] = {}
    best = len(sentence_terms)
    left = 0
    covered = 0
    # A sliding window over the matches: widen right, then shrink left while all are covered.
    for position, term in positions:
        counts[term] = counts.get(term, 0) + 1
        if counts[term] == 1:
            covered += 1
        while covered == distinct:
            start, first = positions[left]
            best = min(best, position - start + 1)
            counts[first] -= 1
            if counts[first] == 0:
                covered -= 1
            left += 1
    return distinct / best


def shared_bigrams(question_terms: Sequence[str], sentence_terms: Sequence[str]) -> float:
    """The share of the question's adjacent term pairs that the sentence has adjacent too."""
    wanted = set(zip(question_terms, question_terms[1:], strict=False))
    if not wanted:
        return 0.0
    found = wanted.intersection(zip(sentence_terms, sentence_terms[1:], strict=False))
    return len(found) / len(wanted)


@dataclass(frozen=True, slots=True)
class Question:
    """A question analysed once for re-ranking."""

    text: str
    terms: tuple[str, ...]
    kind: AnswerType | None
    words: frozenset[str]

    @classmethod
    def of(cls, text: str, terms: Sequence[str]) -> Question:
        """Analyse a question's wording (its terms come from the shared analyzer)."""
        words = frozenset(word.casefold() for word in re.findall(r"[\w'’-]+", text))
        return cls(text, tuple(terms), answer_type(text), words)


def rerank_score(
    question: Question,
    sentence: str,
    bm25: float,
    analyzer: Analyzer,
    weights: RerankWeights,
) -> float:
    """A candidate sentence's BM25 score raised by the signals it shows."""
    if bm25 <= 0:
        return bm25
    boost = 0.0
    if weights.answer_type and question.kind is not None:
        boost += weights.answer_type * has_answer_type(question.kind, sentence, question.words)
    if weights.proximity or weights.phrase:
        terms = analyzer.analyze(sentence)
        if weights.proximity:
            boost += weights.proximity * closeness(question.terms, terms)
        if weights.phrase:
            boost += weights.phrase * shared_bigrams(question.terms, terms)
    return bm25 * (1.0 + boost)


def rerank(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    analyzer: Analyzer,
    weights: RerankWeights,
    neighbours: Neighbours,
) -> list[tuple[Sentence, float]]:
    """The candidates (with BM25 scores) re-scored and sorted best first.

    A neighbour's BM25 score counts only if it is a candidate too; the others are weak.
    Python's sort is stable, so equal scores keep BM25's (document) order.
    """
    by_id = {sentence.id: score for sentence, score in candidates}
    rescored = []
    for sentence, score in candidates:
        final = rerank_score(question, sentence.text, score, analyzer, weights)
        if weights.neighbours and score > 0:
            for neighbour in neighbours(sentence):
                if neighbour is not None:
                    final += weights.neighbours * by_id.get(neighbour.id, 0.0)
        rescored.append((sentence, final))
    rescored.sort(key=lambda item: -item[1])
    return rescored
