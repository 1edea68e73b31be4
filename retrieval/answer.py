"""Pick the sentences that answer a question, or say the documents do not cover it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.rerank import Question, RerankWeights, rerank, weight_share, with_followers
from retrieval.types import Sentence

DEFAULT_TOP_K = 3
# The share of the question's IDF weight the best sentence must contain, chosen on half of
# SQuAD dev (benchmarks/results/quality.md); RetrievalSettings.min_confidence ships the same.
DEFAULT_MIN_CONFIDENCE = 0.3
DEFAULT_WEIGHTS = RerankWeights()


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
    weights: RerankWeights = DEFAULT_WEIGHTS,
) -> Answer:
    """Rank the index's sentences against the question and keep those that answer it.

    BM25 picks the candidates (and the sentences just after its best two: with_followers);
    re-ranking orders them by a fitted mix of BM25, answer type, proximity, IDF coverage, the
    sentences around them and WordNet's related words (retrieval.rerank).
    Confidence is the share of the question's weight (IDF times English rarity) the sentence
    contains, so it means the same in every document and server, and one threshold fits all.
    """
    asked = Question.of(question, analyzer)
    terms = asked.terms
    candidates = with_followers(
        index, index.search(terms, max(top_k, weights.candidates)), terms, weights.followers
    )
    if not candidates:
        return Answer(question=question, terms=terms)
    rescored = rerank(asked, candidates, index, weights, question_weights(asked, index))
    best = rescored[0].coverage
    # Below the threshold the best sentence does not answer: say nothing rather than less.
    shown = rescored[:top_k] if best >= min_confidence else []
    hits = [
        Hit(
            each.sentence,
            each.score,
            each.coverage,
            each.before if context else None,
            each.after if context else None,
        )
        for each in shown
        if each.coverage >= min_confidence
    ]
    return Answer(question=question, terms=terms, hits=tuple(hits), confidence=best)


def question_weights(
    question: Question, index: SentenceIndex, *, rarity: bool = True
) -> dict[str, float]:
    """Each distinct question term with its weight: its IDF in the index times its rarity.

    Rare words in the documents weigh most, unseen ones the most; the general-English rarity
    of the question's word (retrieval.rarity) sharpens the IDF, which one article or a few
    documents make coarse. Without `rarity`: the IDF alone.
    """
    if not rarity:
        return {term: max(index.idf(term), 0.0) for term in question.distinct}
    return {
        term: max(index.idf(term), 0.0) * scale
        for term, scale in zip(question.distinct, question.rarity, strict=True)
    }


def coverage(weights: Mapping[str, float], sentence_terms: Sequence[str]) -> float:
    """The share of the question's weight whose terms the sentence contains, 0..1.

    The same computation (rerank.weight_share) as the confidence answer_question gives.
    """
    present = frozenset(sentence_terms)
    vector = np.fromiter(weights.values(), dtype=np.float64, count=len(weights))
    mask = np.array([term in present for term in weights], dtype=bool)
    return float(weight_share(vector, mask))


def confidence_of(
    question: Question,
    sentence: str,
    index: SentenceIndex,
    analyzer: Analyzer,
    *,
    rarity: bool = True,
) -> float:
    """The confidence answer_question gives a sentence for a question."""
    return coverage(question_weights(question, index, rarity=rarity), analyzer.analyze(sentence))
