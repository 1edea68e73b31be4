"""Re-rank BM25's best sentences by what BM25 cannot see: answer type, proximity, context."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
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
)


@dataclass(frozen=True, slots=True)
class RerankWeights:
    """How much each signal of a candidate sentence adds to its score (0 turns a signal off).

    score = bm25 * BM25 / (the best candidate's BM25) + answer_type * [holds the kind of answer
    asked for] + proximity * closeness + phrase * shared_bigrams + coverage * [share of the
    question's IDF weight in the sentence] + context_before / context_after * [share the
    sentence just before / after adds to it] + novelty * [share of the sentence's terms not in
    the question] + neighbours * (BM25 of the candidates just before and after) / (the best).
    A linear model fitted on SelQA dev and half of SQuAD dev (benchmarks/quality_learn.py).
    """

    answer_type: float = 0.54
    proximity: float = 0.07
    phrase: float = 0.42
    neighbours: float = 0.16
    candidates: int = 20
    bm25: float = 1.0
    coverage: float = 0.94
    context_before: float = 0.86
    context_after: float = 0.23
    novelty: float = -0.17

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


def candidate_features(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    analyzer: Analyzer,
    neighbours: Neighbours,
    idf: Mapping[str, float] | None = None,
) -> list[tuple[float, ...]]:
    """Each candidate's signals, in the order of FEATURES (and RerankWeights.vector).

    `idf` weighs the question's terms (equal weights without it). A neighbour's BM25 counts
    only if it is a candidate too; the others are weak.
    """
    weights = idf if idf is not None else dict.fromkeys(question.terms, 1.0)
    total = sum(weights.values())
    distinct = frozenset(question.terms)
    by_id = {sentence.id: score for sentence, score in candidates}
    top = max(by_id.values(), default=0.0)
    top = top if top > 0 else 1.0
    analysed: dict[int, frozenset[str]] = {}

    def terms_of(sentence: Sentence | None) -> frozenset[str]:
        if sentence is None:
            return frozenset()
        if sentence.id not in analysed:
            analysed[sentence.id] = frozenset(analyzer.analyze(sentence.text))
        return analysed[sentence.id]

    items = list(weights.items())
    scale = 1.0 / total if total > 0 else 0.0
    rows = []
    for sentence, score in candidates:
        terms = analyzer.analyze(sentence.text)
        present = frozenset(terms)
        analysed[sentence.id] = present
        before, after = neighbours(sentence)
        missing = [(term, weight) for term, weight in items if term not in present]
        own = sum(weight for term, weight in items if term in present) * scale
        typed = question.kind is not None and has_answer_type(
            question.kind, sentence.text, question.words
        )
        nearby = sum(by_id.get(n.id, 0.0) for n in (before, after) if n is not None)
        context = [
            sum(weight for term, weight in missing if term in near) * scale
            for near in (terms_of(before), terms_of(after))
        ]
        matched = sum(1 for term in terms if term in distinct)
        rows.append(
            (
                score / top,
                float(typed),
                closeness(question.terms, terms),
                shared_bigrams(question.terms, terms),
                own,
                context[0],
                context[1],
                1.0 - matched / len(terms) if terms else 0.0,
                nearby / top,
            )
        )
    return rows


def rerank(
    question: Question,
    candidates: Sequence[tuple[Sentence, float]],
    analyzer: Analyzer,
    weights: RerankWeights,
    neighbours: Neighbours,
    idf: Mapping[str, float] | None = None,
) -> list[tuple[Sentence, float]]:
    """The candidates (with BM25 scores) re-scored and sorted best first.

    Python's sort is stable, so equal scores keep BM25's (document) order.
    """
    vector = weights.vector()
    features = candidate_features(question, candidates, analyzer, neighbours, idf)
    rescored = [
        (sentence, sum(w * x for w, x in zip(vector, row, strict=True)))
        for (sentence, _), row in zip(candidates, features, strict=True)
    ]
    rescored.sort(key=lambda item: -item[1])
    return rescored
