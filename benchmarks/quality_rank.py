"""The rankers the quality benchmark compares: plain rank-bm25 and Verbatim's engine."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rank_bm25 import BM25Okapi

from retrieval.analyzer import Analyzer
from retrieval.answer import Decision, confidence_of, question_weights
from retrieval.embedder import Embedder
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
from retrieval.rerank import Question, RerankWeights, rerank, with_followers
from retrieval.types import DocumentRef, Sentence

_WORD = re.compile(r"\w+")
# Added to the BM25 score of sentences outside the re-ranked candidates: they rank below them.
NOT_A_CANDIDATE = -1e9
# Where the reader's pool is lifted to (ReaderEngine): above any re-ranked score.
READ = 1e6


def plain_tokens(text: str) -> list[str]:
    """The baseline's tokens: lower-case word characters, nothing else."""
    return _WORD.findall(text.lower())


class PlainBM25:
    """The baseline: rank-bm25 BM25Okapi, lower-case word tokens, no stems, no stopwords."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self._bm25 = BM25Okapi([plain_tokens(s) or ["\x00"] for s in sentences])
        self.size = len(sentences)

    def scores(self, question: str) -> np.ndarray:
        """BM25 scores of every sentence."""
        return np.asarray(self._bm25.get_scores(plain_tokens(question)), dtype=np.float64)


@dataclass
class EngineConfig:
    """One configuration of Verbatim's ranking, as the benchmark varies it."""

    name: str
    stem: bool = True
    stopwords: bool = True
    numbers: bool = True
    normalize: bool = True
    k1: float = 1.2
    b: float = 0.75
    weights: RerankWeights = field(default_factory=RerankWeights)
    # Term weights: IDF times general-English rarity (retrieval.rarity), or IDF alone.
    rarity: bool = True

    def analyzer(self) -> Analyzer:
        """The analyzer this configuration uses."""
        return Analyzer(
            **({} if self.stopwords else {"stopwords": frozenset()}),
            stem=self.stem,
            numbers=self.numbers,
            normalize=self.normalize,
        )


class Engine:
    """Verbatim's ranking over one document's sentences: BM25 candidates, then re-ranking.

    It calls the same functions as retrieval.answer.answer_question, but returns a score for
    every sentence so that ranks below the answer can be measured.
    """

    def __init__(self, sentences: Sequence[str], config: EngineConfig, analyzer: Analyzer) -> None:
        ref = DocumentRef(1, "benchmark", "")
        self.sentences = [Sentence(i, ref, i + 1, text) for i, text in enumerate(sentences)]
        self.analyzer = analyzer
        self.config = config
        self.index = SentenceIndex(
            self.sentences, [analyzer.analyze(s) for s in sentences], k1=config.k1, b=config.b
        )
        self.size = len(sentences)

    def bm25(self, question: str) -> np.ndarray:
        """The BM25 score of every sentence for the question (0 when no term matches)."""
        bm25 = np.zeros(self.size)
        for sentence, score in self.index.search(self.analyzer.analyze(question), self.size):
            bm25[sentence.id] = score
        return bm25

    def rerank(self, question: str, bm25: np.ndarray, subset: Sequence[int]) -> np.ndarray:
        """Re-ranked scores of the subset's sentences, in the subset's order."""
        candidates = [(self.sentences[i], float(bm25[i])) for i in subset]
        asked = Question.of(question, self.analyzer)
        rescored = rerank(
            asked,
            candidates,
            self.index,
            self.config.weights,
            question_weights(asked, self.index, rarity=self.config.rarity),
        )
        final = {each.sentence.id: each.score for each in rescored}
        return np.array([final[i] for i in subset])

    def scores(self, question: str) -> np.ndarray:
        """Final scores of every sentence."""
        return self.article_scores(question, self.bm25(question))

    def article_scores(self, question: str, bm25: np.ndarray) -> np.ndarray:
        """Scores over the whole document: the top candidates re-ranked, as the engine does.

        The rest keep their BM25 order, below every candidate (the engine never returns them).
        """
        order = np.argsort(-bm25, kind="stable")[: self.config.weights.candidates]
        order = order[bm25[order] > 0]
        final = bm25 + NOT_A_CANDIDATE
        if order.size:
            subset = self.candidates(question, bm25, order.tolist())
            final[subset] = self.rerank(question, bm25, subset)
        return final

    def candidates(self, question: str, bm25: np.ndarray, best: list[int]) -> list[int]:
        """BM25's best sentences, then their followers, as answer_question picks them."""
        chosen = with_followers(
            self.index,
            [(self.sentences[i], float(bm25[i])) for i in best],
            self.analyzer.analyze(question),
            self.config.weights.followers,
        )
        return [sentence.id for sentence, _ in chosen]

    def confidence(self, question: str, scores: np.ndarray) -> float:
        """The per-question confidence of the best sentence, as the engine computes it."""
        if not scores.size:
            return 0.0
        best = int(np.argmax(scores))
        if scores[best] < NOT_A_CANDIDATE / 2:
            return 0.0
        return confidence_of(
            Question.of(question, self.analyzer),
            self.sentences[best].text,
            self.index,
            self.analyzer,
            rarity=self.config.rarity,
        )


class ReaderEngine(Engine):
    """Engine, then the embedder's nearest and the reader, as answer_question with both.

    The embedder's nearest `decision.nearest` sentences join the candidates; the re-ranker's
    best `decision.pool` and the nearest `decision.nearest_pool` among them are read, and put
    first in the reading's order (logit + linear * re-ranked score + semantic * cosine); the
    rest keep their re-ranked order below. Lead-in lines (headings, FAQ questions) are not
    handed to what follows here: Wikipedia prose has next to none.
    """

    def __init__(
        self,
        sentences: Sequence[str],
        config: EngineConfig,
        analyzer: Analyzer,
        reader: Reader,
        decision: Decision,
        embedder: Embedder,
    ) -> None:
        super().__init__(sentences, config, analyzer)
        self.reader = reader
        self.decision = decision
        self.embedder = embedder
        self.vectors = embedder.embed(list(sentences))
        self._cosine: dict[str, np.ndarray] = {}

    def cosine(self, question: str) -> np.ndarray:
        """The embedder's cosine of the question with every sentence."""
        if question not in self._cosine:
            self._cosine = {question: self.vectors @ self.embedder.embed([question])[0]}
        return self._cosine[question]

    def candidates(self, question: str, bm25: np.ndarray, best: list[int]) -> list[int]:
        """BM25's best and their followers, then the embedder's nearest."""
        chosen = super().candidates(question, bm25, best)
        nearest = np.argsort(-self.cosine(question), kind="stable")[: self.decision.nearest]
        have = set(chosen)
        return chosen + [i for i in nearest.tolist() if i not in have]

    def rerank(self, question: str, bm25: np.ndarray, subset: Sequence[int]) -> np.ndarray:
        """Re-ranked scores of the subset, the reader's pool lifted above the rest."""
        linear = super().rerank(question, bm25, subset)
        cosine = np.round(self.cosine(question)[list(subset)].astype(np.float64), 4)
        pool = list(np.argsort(-linear, kind="stable")[: self.decision.pool])
        close = np.argsort(-cosine, kind="stable")[: self.decision.nearest_pool]
        pool += [i for i in close.tolist() if i not in set(pool)]
        logits = self.reader.score(question, [self.sentences[subset[i]].text for i in pool])
        final = linear.copy()
        final[pool] = (
            READ
            + logits
            + self.decision.linear * linear[pool]
            + self.decision.semantic * cosine[pool]
        )
        return final
