"""Pick the sentences that answer a question, or say the documents do not cover it."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.types import Sentence

DEFAULT_TOP_K = 3
# The share of the question's weight the best sentence must match; see README "Threshold".
DEFAULT_MIN_CONFIDENCE = 0.2


@dataclass(frozen=True, slots=True)
class Hit:
    """One cited sentence of an answer."""

    sentence: Sentence
    score: float
    confidence: float
    before: Sentence | None = None
    after: Sentence | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The sentences that answer a question; empty (answered False) when none does well enough."""

    question: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    confidence: float = 0.0

    @property
    def answered(self) -> bool:
        """Whether any sentence answers the question."""
        return bool(self.hits)


def answer_question(
    question: str,
    index: SentenceIndex,
    analyzer: Analyzer,
    *,
    top_k: int = DEFAULT_TOP_K,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    context: bool = False,
) -> Answer:
    """Rank the index's sentences against the question and keep those that answer it."""
    terms = tuple(analyzer.analyze(question))
    ranked = index.search(terms, top_k)
    ceiling = index.max_score(terms)
    if not ranked or ceiling <= 0:
        return Answer(question=question, terms=terms)
    best = ranked[0][1] / ceiling
    if best < min_confidence:
        return Answer(question=question, terms=terms, confidence=best)
    hits = []
    for sentence, score in ranked:
        confidence = score / ceiling
        if confidence < min_confidence:
            break
        before, after = index.neighbours(sentence) if context else (None, None)
        hits.append(Hit(sentence, score, confidence, before, after))
    return Answer(question=question, terms=terms, hits=tuple(hits), confidence=best)
