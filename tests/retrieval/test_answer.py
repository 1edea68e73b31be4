"""answer_question: the answer, its order and threshold, context, citations, and declining."""

import tracemalloc

import pytest

from retrieval import Analyzer, DocumentRef, Sentence, SentenceIndex, answer_question
from retrieval.answer import coverage, question_weights
from retrieval.rerank import (
    FEATURES,
    NO_RERANK,
    AnswerType,
    Question,
    RerankWeights,
    answer_type,
    candidate_features,
    has_answer_type,
    rerank,
    with_followers,
)
from retrieval.sentences import split_sentences
from tests.conftest import SEED_TEXT

ANALYZER = Analyzer()


def make_index(texts, *, document_id=1, first_id=0):
    ref = DocumentRef(document_id, f"doc {document_id}", f"doc{document_id}.txt")
    sentences = [Sentence(first_id + i, ref, i + 1, t) for i, t in enumerate(texts)]
    return SentenceIndex(sentences, [ANALYZER.analyze(t) for t in texts], k1=0.6, b=0.5)


@pytest.fixture(scope="module")
def seed_index():
    return make_index(split_sentences(SEED_TEXT))


def test_seed_question_is_answered_with_the_obama_sentence(seed_index):
    answer = answer_question("how many Special Operations forces?", seed_index, ANALYZER)
    assert answer.answered
    assert answer.hits[0].sentence.text.startswith("The Obama administration has acknowledged")
    assert answer.terms == tuple(ANALYZER.analyze("how many Special Operations forces?"))
    assert 0 < answer.confidence <= 1


def test_unrelated_question_is_declined(seed_index):
    answer = answer_question("what is the best recipe for banana bread?", seed_index, ANALYZER)
    assert not answer.answered
    assert answer.confidence < 0.3


def test_hits_are_sorted_capped_and_above_the_threshold(seed_index):
    answer = answer_question("Carter meeting coalition", seed_index, ANALYZER, top_k=2)
    assert 1 <= len(answer.hits) <= 2
    scores = [hit.score for hit in answer.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.3 <= hit.confidence <= 1 for hit in answer.hits)


def test_context_gives_the_neighbouring_sentences(seed_index):
    answer = answer_question(
        "how many Special Operations forces?", seed_index, ANALYZER, context=True
    )
    hit = answer.hits[0]
    assert hit.before is not None and hit.before.position == hit.sentence.position - 1
    assert hit.after is None  # the last sentence of the article


def test_empty_question_and_empty_index():
    empty = SentenceIndex([], [])
    assert not answer_question("anything at all?", empty, ANALYZER).answered
    index = make_index(["Some sentence about rivers."])
    assert not answer_question("the of and?", index, ANALYZER).answered


def test_confidence_is_the_share_of_question_weight_in_the_sentence():
    index = make_index(["Paris is the capital of France.", "Rome is in Italy.", "Cats purr."])
    weights = question_weights(Question.of("capital of France", ANALYZER), index)
    assert coverage(weights, ANALYZER.analyze("Paris is the capital of France.")) == 1.0
    assert coverage(weights, ANALYZER.analyze("Cats purr.")) == 0.0
    half = coverage(weights, ANALYZER.analyze("France is big."))
    assert 0 < half < 1


def test_confidence_does_not_depend_on_other_documents():
    # The same question and sentence keep a similar confidence when unrelated documents join.
    texts = ["The bridge was opened in 1932 by the mayor.", "Rivers flow to the sea."]
    alone = answer_question("When was the bridge opened?", make_index(texts), ANALYZER)
    filler = [f"Unrelated sentence number {i} about gardens and weather." for i in range(300)]
    crowded = answer_question("When was the bridge opened?", make_index(texts + filler), ANALYZER)
    assert alone.answered and crowded.answered
    assert abs(alone.confidence - crowded.confidence) < 0.1


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many troops were sent?", AnswerType.NUMBER),
        ("What percentage of voters agreed?", AnswerType.NUMBER),
        ("When did the war end?", AnswerType.DATE),
        ("In what year was it built?", AnswerType.DATE),
        ("Who founded the company?", AnswerType.PERSON),
        ("Where is the stadium?", AnswerType.PLACE),
        ("Which city hosted the games?", AnswerType.PLACE),
        ("What is the capital?", None),
    ],
)
def test_answer_type_from_the_wording(question, kind):
    assert answer_type(question) is kind


def test_has_answer_type_ignores_what_the_question_already_says():
    words = Question.of("How many of the 50 soldiers returned?", ANALYZER).words
    assert not has_answer_type(AnswerType.NUMBER, "The 50 soldiers were sent.", words)
    assert has_answer_type(AnswerType.NUMBER, "Twelve of the 50 soldiers returned.", words)
    assert has_answer_type(AnswerType.DATE, "It ended in 1945.", frozenset())
    assert not has_answer_type(AnswerType.DATE, "It ended badly.", frozenset())


def test_answer_type_lifts_the_sentence_holding_the_answer():
    texts = [
        "Luther's return trip back to Wittenberg was planned.",
        "Luther secretly returned to Wittenberg on 6 March 1522.",
    ]
    index = make_index(texts)
    question = "When did Luther return to Wittenberg?"
    terms = ANALYZER.analyze(question)
    candidates = index.search(terms, 10)
    plain = rerank(Question.of(question, ANALYZER), candidates, index, NO_RERANK)
    typed = rerank(
        Question.of(question, ANALYZER),
        candidates,
        index,
        RerankWeights(answer_type=0.4, proximity=0, phrase=0, neighbours=0),
    )
    assert typed[0].sentence.text.endswith("6 March 1522.")
    assert typed[0].score > plain[0].score or plain[0].sentence is typed[0].sentence


def test_the_sentences_after_the_best_two_join_the_candidates():
    texts = [
        "Gustave Eiffel's company designed the Eiffel Tower for the World's Fair.",
        "Construction finished in March 1889.",
        "The tower is 330 metres tall.",
        "Paris hosts millions of visitors every year.",
        "The Eiffel Tower was finished on time.",
    ]
    index = make_index(texts)
    terms = Question.of("When was the Eiffel Tower built?", ANALYZER).terms
    found = index.search(terms, 20)
    assert [s.id for s, _ in found] == [0, 4, 2]
    # Sentence 0's follower shares no term, so it scores 0; sentence 4 ends the document.
    assert with_followers(index, found, terms, 2) == [*found, (index.sentences[1], 0.0)]
    assert with_followers(index, found, terms, 0) == found
    # The best two are sentences 1 and 4 now: 1's follower is a candidate already.
    terms = Question.of("When was the Eiffel Tower construction finished?", ANALYZER).terms
    found = index.search(terms, 20)
    assert [s.id for s, _ in found] == [1, 4, 0, 2]
    assert with_followers(index, found, terms, 2) == found


def test_answers_are_verbatim_sentences(seed_index):
    sentences = set(split_sentences(SEED_TEXT))
    for question in ("who is Ashton Carter?", "where is the meeting?", "how many jihadists?"):
        for hit in answer_question(question, seed_index, ANALYZER).hits:
            assert hit.sentence.text in sentences


def test_features_line_up_with_the_weights():
    assert len(FEATURES) == len(RerankWeights().vector()) == len(NO_RERANK.vector())
    assert dict(zip(FEATURES, RerankWeights(coverage=0.5).vector(), strict=True))["coverage"] == 0.5


def test_context_features_count_what_the_sentence_before_adds():
    texts = [
        "The complexity class P is seen as a model of efficient algorithms.",
        "This hypothesis is called the Cobham thesis.",
        "Unrelated words about weather.",
    ]
    index = make_index(texts)
    question = "Which hypothesis sees the class P as a model of efficient algorithms?"
    idf = question_weights(Question.of(question, ANALYZER), index)
    candidates = [(s, 1.0) for s in index.sentences]
    rows = candidate_features(Question.of(question, ANALYZER), candidates, index, idf)
    by_name = [dict(zip(FEATURES, row, strict=True)) for row in rows]
    thesis = by_name[1]
    # "hypothesis" is its own; the rest of the question's weight sits in the sentence before.
    assert 0 < thesis["coverage"] < 0.5
    assert thesis["context_before"] == pytest.approx(
        coverage(idf, ANALYZER.analyze(texts[0] + " " + texts[1])) - thesis["coverage"]
    )
    assert thesis["context_after"] == 0.0
    assert by_name[2]["coverage"] == 0.0
    assert 0 < thesis["novelty"] < 1


def test_without_reranking_the_order_is_bm25s(seed_index):
    question = "Carter meeting coalition"
    terms = ANALYZER.analyze(question)
    candidates = seed_index.search(terms, 20)
    plain = rerank(Question.of(question, ANALYZER), candidates, seed_index, NO_RERANK)
    assert [s.sentence.id for s in plain] == [
        s.id for s, _ in sorted(candidates, key=lambda c: -c[1])
    ]


def test_a_sentence_of_megabytes_is_not_read_whole_to_answer():
    # Stored before sentences were capped at splitting: five megabytes with no full stop.
    huge = "the ferry leaves the harbour and tickets cost four dollars " * 85_000
    index = make_index([huge, "The bus leaves at nine."])
    index.prepare()
    tracemalloc.start()
    try:
        answer = answer_question("how much do ferry tickets cost?", index, ANALYZER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.hits[0].sentence.text is huge
    # Folding its text or listing its words would take megabytes.
    assert peak < 1_000_000, peak
