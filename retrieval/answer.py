"""Pick the sentences that answer a question, the closest ones, or say the documents do not."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

import numpy as np

from retrieval.analyzer import Analyzer
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
from retrieval.rerank import (
    Question,
    RerankWeights,
    Rescored,
    rerank,
    weight_share,
    with_followers,
)
from retrieval.semantic import Semantic
from retrieval.spelling import mended
from retrieval.structure import (
    answers_nothing,
    body_after,
    heads_sections,
    is_lead_in,
    is_own_title,
    is_question,
    section_of,
)
from retrieval.types import Sentence

DEFAULT_TOP_K = 3
# The share of the question's IDF weight the best sentence must contain when there is no
# reader (answer_question's reader=None), chosen on half of SQuAD dev.
DEFAULT_MIN_CONFIDENCE = 0.3
DEFAULT_WEIGHTS = RerankWeights()


class Outcome(Enum):
    """What the documents say to a question."""

    ANSWERED = "answered"
    # The closest passages are shown, labelled as possibly not answering.
    NOT_SURE = "not_sure"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class Hit:
    """One cited sentence of an answer, with the heading or FAQ question it sits under."""

    sentence: Sentence
    score: float
    confidence: float
    before: Sentence | None = None
    after: Sentence | None = None
    section: Sentence | None = None

    @property
    def context(self) -> Sentence | None:
        """The lead-in a citation shows: none when it only says the document's title again."""
        section = self.section
        if section is None or is_own_title(section):
            return None
        return section


@dataclass(frozen=True, slots=True)
class Answer:
    """The sentences that answer a question, or the closest ones, or nothing.

    `hits` are given as the answer (only when answered); `closest` are shown when the reader
    is not sure, labelled as possibly not answering.
    """

    question: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    confidence: float = 0.0
    outcome: Outcome = Outcome.NOT_FOUND
    closest: tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def answered(self) -> bool:
        """Whether sentences are given as the answer."""
        return self.outcome is Outcome.ANSWERED


@dataclass(frozen=True, slots=True)
class Decision:
    """How the reader's logit, with what the words show, becomes a confidence and an outcome.

    confidence = sigmoid(reader * logit + coverage * [share of the question's weight in the
    sentence or its lead-in] + unseen * [share of it in words no document uses] + cosine *
    [the embedder's cosine of question and sentence or its lead-in] + bias), fitted on the
    tuning halves (benchmarks/decision_learn.py). A word no document uses is evidence the
    documents do not cover the question, but the reader and the embedder, which know casual
    synonyms, weigh more. Candidates are ordered by logit + linear * the re-ranker's score +
    semantic * cosine + opening * [the sentence opens the answer to an FAQ's question].
    """

    reader: float = 0.148
    # Fitted out (0): on SQuAD 2.0, whose unanswerable questions were written to share the
    # paragraph's words, they learnt that matching words means no answer, which held on
    # the articles they were fitted on (balanced accuracy 0.63) and failed on the others
    # (0.52); without them, 0.62 on both (benchmarks/results/quality.md).
    coverage: float = 0.0
    unseen: float = 0.0
    bias: float = -0.694
    cosine: float = 1.221
    linear: float = 2.0
    semantic: float = 8.0
    # An FAQ answers its question in the sentence after it ("A: No.", "Nothing."); the reader
    # reads each sentence on its own and cannot tell the first from the second.
    opening: float = 0.5
    # The cosine a candidate counts with when it has none (the embedder off, or its vector not
    # made yet): the mean of the first candidates' on the tuning data, so that confidence
    # keeps its scale.
    missing_cosine: float = 0.62
    # The re-ranker's best this many go to the reader (with what lead-ins pass on), and the
    # embedder's nearest `nearest_pool` of the `nearest` sentences it adds to the candidates.
    # The reader's time follows how many it reads: 8 + 3 ranked and decided as well as 10 + 5
    # on the tuning data, in about three quarters of the time; 6 + 2 decides as well, in
    # 22 ms where 8 + 3 took 27 at 100,000 sentences (speed_reader.md, round 10), but had the
    # right sentence among those it read for 4 fewer casual questions of 62
    # (benchmarks/results/quality.md, round 9).
    pool: int = 8
    nearest: int = 10
    nearest_pool: int = 3
    # Sentences under a lead-in that take its place among the candidates.
    body: int = 2
    answer_at: float = 0.53
    closest_at: float = 0.4

    def confidence(
        self, logit: np.ndarray, coverage: np.ndarray, unseen: float, cosine: np.ndarray
    ) -> np.ndarray:
        """The calibrated probability that each candidate answers."""
        z = (
            self.reader * logit
            + self.coverage * coverage
            + self.unseen * unseen
            + self.cosine * cosine
            + self.bias
        )
        return np.round(1.0 / (1.0 + np.exp(-z)), 4)


DEFAULT_DECISION = Decision()


def answer_question(
    question: str,
    index: SentenceIndex,
    analyzer: Analyzer,
    *,
    top_k: int = DEFAULT_TOP_K,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    context: bool = False,
    weights: RerankWeights = DEFAULT_WEIGHTS,
    reader: Reader | None = None,
    decision: Decision = DEFAULT_DECISION,
    semantic: Semantic | None = None,
) -> Answer:
    """Rank the index's sentences against the question and keep those that answer it.

    BM25 picks the candidates (and the sentences just after its best two: with_followers);
    re-ranking orders them by a fitted mix of BM25, answer type, proximity, IDF coverage, the
    sentences around them and WordNet's related words (retrieval.rerank). With a reader, its
    best go to the reader with the heading or FAQ question they sit under, headings and
    question lines hand their place to the sentences under them, and the reader's reading
    decides (decision.answer_at, decision.closest_at; min_confidence is then unused).
    With `semantic` (the embedder's view of the question), its nearest sentences join the
    candidates, sharing a word with the question or not, and its cosine joins the reading.
    Without a reader, confidence is the share of the question's weight (IDF times English
    rarity) the sentence contains, and min_confidence divides answered from not found; lead-ins
    hand their place and their share to the sentences under them as they do for the reader.
    """
    asked = _asked(question, index, analyzer)
    terms = asked.terms
    # The embedder's view is a signal of the reading: without a reader it is not used.
    rescored, question_weight = _rescored(
        asked, index, weights, top_k, semantic if reader is not None else None, decision.nearest
    )
    if not rescored:
        return Answer(question=question, terms=terms)
    if reader is not None:
        reading = _read(
            asked, index, rescored, question_weight, reader, decision, context, semantic
        )
        return dataclasses.replace(reading.answer(asked, decision, top_k), question=question)
    # The best few, with room for lead-ins that answer nothing and drop out.
    considered = _distinct(index, rescored, decision.body)[: top_k + decision.pool]
    pool = _pool(index, considered, decision.body)
    if not pool:
        return Answer(question=question, terms=terms)
    best = pool[0].coverage
    # Below the threshold the best sentence does not answer: say nothing rather than less.
    shown = pool[:top_k] if best >= min_confidence else []
    hits = [
        Hit(
            each.sentence,
            each.score,
            each.coverage,
            each.before if context else None,
            each.after if context else None,
            each.section,
        )
        for each in shown
        if each.coverage >= min_confidence
    ]
    outcome = Outcome.ANSWERED if hits else Outcome.NOT_FOUND
    return Answer(question, terms, tuple(hits), best, outcome)


def read_question(
    question: str,
    index: SentenceIndex,
    analyzer: Analyzer,
    reader: Reader,
    *,
    weights: RerankWeights = DEFAULT_WEIGHTS,
    decision: Decision = DEFAULT_DECISION,
    semantic: Semantic | None = None,
) -> Reading | None:
    """What the reader makes of the question's best candidates (None: no candidate at all).

    answer_question's own path with a reader; benchmarks fit the Decision on these readings.
    """
    asked = _asked(question, index, analyzer)
    rescored, question_weight = _rescored(
        asked, index, weights, DEFAULT_TOP_K, semantic, decision.nearest
    )
    if not rescored:
        return None
    return _read(asked, index, rescored, question_weight, reader, decision, False, semantic)


def _asked(question: str, index: SentenceIndex, analyzer: Analyzer) -> Question:
    """The question analysed, its misspelt words mended to ones the documents use."""
    return Question.of(mended(question, analyzer, index), analyzer)


def _rescored(
    asked: Question,
    index: SentenceIndex,
    weights: RerankWeights,
    top_k: int,
    semantic: Semantic | None = None,
    nearest: int = 0,
) -> tuple[list[Rescored], dict[str, float]]:
    """BM25's candidates, their followers and the embedder's nearest, re-ranked; and weights.

    The weights are the question's terms' (question_weights).
    """
    candidates = with_followers(
        index,
        index.search(asked.terms, max(top_k, weights.candidates)),
        asked.terms,
        weights.followers,
    )
    if semantic is not None:
        # Sentences that say it in other words: their BM25 is 0 when no word is shared.
        have = {sentence.id for sentence, _ in candidates}
        candidates += [
            (sentence, index.bm25_of(sentence, asked.terms))
            for sentence, _ in semantic.nearest[:nearest]
            if sentence.id not in have
        ]
    if not candidates:
        return [], {}
    question_weight = question_weights(asked, index)
    return rerank(asked, candidates, index, weights, question_weight), question_weight


@dataclass(frozen=True, slots=True)
class Reading:
    """The reader's candidates for one question, in pool order, with what deciding needs."""

    hits: tuple[Hit, ...]
    logits: np.ndarray
    linear: np.ndarray
    coverage: np.ndarray
    unseen: float
    cosine: np.ndarray
    # 1 for a sentence that opens the answer under an FAQ's question, else 0.
    opens: np.ndarray

    def combined(self, decision: Decision) -> np.ndarray:
        """What orders the candidates: the logit, re-ranked score, cosine and FAQ opening."""
        return np.round(
            self.logits
            + decision.linear * self.linear
            + decision.semantic * self.cosine
            + decision.opening * self.opens,
            4,
        )

    def order(self, decision: Decision) -> list[int]:
        """The candidates best first; ties keep pool order (the re-ranker's)."""
        combined = self.combined(decision)
        return np.lexsort((np.arange(len(combined)), -combined)).tolist()

    def answer(self, asked: Question, decision: Decision, top_k: int) -> Answer:
        """The outcome: answered, not sure (with the closest passages), or not found."""
        confidence = decision.confidence(self.logits, self.coverage, self.unseen, self.cosine)
        combined = self.combined(decision)
        ranked = [
            dataclasses.replace(
                self.hits[i], score=float(combined[i]), confidence=float(confidence[i])
            )
            for i in self.order(decision)
        ]
        best = ranked[0].confidence
        if best >= decision.answer_at:
            hits = tuple(hit for hit in ranked[:top_k] if hit.confidence >= decision.answer_at)
            return Answer(asked.text, asked.terms, hits, best, Outcome.ANSWERED)
        closest = tuple(hit for hit in ranked[:top_k] if hit.confidence >= decision.closest_at)
        outcome = Outcome.NOT_SURE if closest else Outcome.NOT_FOUND
        return Answer(asked.text, asked.terms, (), best, outcome, closest)


def _read(
    asked: Question,
    index: SentenceIndex,
    rescored: Sequence[Rescored],
    question_weight: Mapping[str, float],
    reader: Reader,
    decision: Decision,
    context: bool,
    semantic: Semantic | None = None,
) -> Reading:
    """The re-ranker's best candidates and the embedder's nearest, read with the question.

    Each is read with the lead-in it sits under.
    """
    distinct = _distinct(index, rescored, decision.body)
    chosen = distinct[: decision.pool]
    if semantic is not None and decision.nearest_pool:
        close = {s.id for s, _ in semantic.nearest[: decision.nearest_pool]}
        chosen += [each for each in distinct[decision.pool :] if each.sentence.id in close]
    pool = _pool(index, chosen, decision.body)
    passages = [
        each.sentence.text if each.section is None else f"{each.section.text} {each.sentence.text}"
        for each in pool
    ]
    logits = reader.score(asked.text, passages)
    hits = tuple(
        Hit(
            each.sentence,
            float(logit),
            0.0,
            each.before if context else None,
            each.after if context else None,
            each.section,
        )
        for each, logit in zip(pool, logits.tolist(), strict=True)
    )
    return Reading(
        hits,
        logits,
        np.array([each.score for each in pool]),
        np.array([each.coverage for each in pool]),
        unseen_share(question_weight, index),
        np.array([_cosine(semantic, each, decision.missing_cosine) for each in pool]),
        np.array([float(_opens(each)) for each in pool]),
    )


def _distinct(index: SentenceIndex, rescored: Sequence[Rescored], body: int) -> list[Rescored]:
    """The candidates with each text once, so the places a repeat took go to other sentences.

    A table of contents repeats an FAQ's questions: of a lead-in said twice, the copy with
    sentences under it is kept (in the first copy's place), since it is the one that answers.
    A document's title line above its first section (heads_sections) takes no place: it
    answers nothing and has nothing under it to pass its match to.
    """
    first: dict[str, Rescored] = {}
    for each in rescored:
        text = each.sentence.text
        if heads_sections(index, each.sentence):
            continue
        have = first.get(text)
        if have is None:
            first[text] = each
        elif (
            is_lead_in(text)
            and not body_after(index, have.sentence, body)
            and body_after(index, each.sentence, body)
        ):
            first[text] = each._replace(score=have.score, coverage=have.coverage)
    return list(first.values())


def _cosine(semantic: Semantic | None, candidate: _Candidate, missing: float) -> float:
    """The embedder's cosine for a candidate: of the sentence, or of its lead-in if closer.

    An FAQ's question line says what the answer under it is about. `missing` stands in for
    a cosine the embedder has not given.
    """
    if semantic is None:
        return missing
    known = [
        value
        for value in (
            semantic.similarity(candidate.sentence),
            None if candidate.section is None else semantic.similarity(candidate.section),
        )
        if value is not None
    ]
    return max(known) if known else missing


def _opens(candidate: _Candidate) -> bool:
    """Whether the candidate is the first sentence under an FAQ's question line."""
    section, before = candidate.section, candidate.before
    return (
        section is not None
        and before is not None
        and before.id == section.id
        and is_question(section.text)
    )


class _Candidate(NamedTuple):
    sentence: Sentence
    score: float
    coverage: float
    before: Sentence | None
    after: Sentence | None
    section: Sentence | None


def _pool(index: SentenceIndex, rescored: Sequence[Rescored], body: int) -> list[_Candidate]:
    """The candidates to read or quote: each with its lead-in; lead-ins give way to their body.

    A heading or FAQ question line that matches passes its score and coverage to the
    sentences under it, since those are what answer (a sentence's coverage is then the larger
    of its own and its lead-in's); a heading stays a candidate itself only
    when nothing follows it (a list of short rules, the end of a document). A question or a
    bare label ("5.1.") never does: with nothing under it (a table of contents' entry, the
    last line) it answers nothing.
    """
    pool: dict[int, _Candidate] = {}
    for each in rescored:
        sentence = each.sentence
        under = body_after(index, sentence, body) if is_lead_in(sentence.text) else []
        if not under and answers_nothing(sentence.text):
            continue
        if not under:
            have = pool.get(sentence.id)
            if have is None:
                section = section_of(index, sentence)
                pool[sentence.id] = _Candidate(
                    sentence, each.score, each.coverage, each.before, each.after, section
                )
            elif each.coverage > have.coverage:
                # Already under a lead-in that matched: it keeps that place, and the larger share.
                pool[sentence.id] = have._replace(coverage=each.coverage)
            continue
        for sentence_under in under:
            have = pool.get(sentence_under.id)
            if have is not None and have.score >= each.score:
                pool[sentence_under.id] = have._replace(coverage=max(have.coverage, each.coverage))
                continue
            before, after = index.neighbours(sentence_under)
            coverage = max(each.coverage, have.coverage if have else 0.0)
            pool[sentence_under.id] = _Candidate(
                sentence_under, each.score, coverage, before, after, sentence
            )
    # Two lead-ins with the same body (a table of contents' entry and the heading) pool it once.
    once: dict[str, _Candidate] = {}
    for candidate in pool.values():
        once.setdefault(candidate.sentence.text, candidate)
    return list(once.values())


def unseen_share(question_weight: Mapping[str, float], index: SentenceIndex) -> float:
    """The share of the question's weight in words no document uses."""
    total = sum(question_weight.values())
    if total <= 0:
        return 0.0
    unseen = sum(w for term, w in question_weight.items() if index.document_frequency(term) == 0)
    return unseen / total


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
