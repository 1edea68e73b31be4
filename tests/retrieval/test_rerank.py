"""The re-ranker's features, read from postings, against a plain computation from the text."""

import random
import re

import numpy as np
import pytest

from retrieval import Analyzer, DocumentRef, Sentence, SentenceIndex, answer_question
from retrieval.answer import confidence_of, coverage, question_weights
from retrieval.postings import Segment
from retrieval.related import related
from retrieval.rerank import (
    FEATURES,
    PREFIX,
    AnswerType,
    Question,
    RerankWeights,
    candidate_features,
    has_answer_type,
    rerank,
)
from retrieval.sentences import split_sentences
from retrieval.term_table import TermTable
from tests.conftest import SEED_TEXT

ANALYZER = Analyzer()


def in_first_order(terms):
    """A sentence's distinct terms in order of first appearance: what the postings' ranks say."""
    return list(dict.fromkeys(terms))


def closeness(question_terms, sentence_terms):
    """Distinct matched terms over the shortest stretch holding them all (0 under two)."""
    wanted = set(question_terms) & set(sentence_terms)
    if len(wanted) < 2:
        return 0.0
    n = len(sentence_terms)
    best = min(
        end - start
        for start in range(n)
        for end in range(start + 1, n + 1)
        if wanted <= set(sentence_terms[start:end])
    )
    return len(wanted) / best


def shared_bigrams(question_terms, sentence_terms):
    """The share of the question's adjacent term pairs that the sentence has adjacent too."""
    wanted = set(zip(question_terms, question_terms[1:], strict=False))
    if not wanted:
        return 0.0
    found = wanted & set(zip(sentence_terms, sentence_terms[1:], strict=False))
    return len(found) / len(wanted)


def share(idf, holds):
    """The share of the question's weight in the terms `holds` (a set), summed in Python."""
    return sum(w for t, w in idf.items() if t in holds) / sum(idf.values())


def question_forms(text):
    """Each question term with the words (folded) that gave it, from the analyzer's spans."""
    forms = {}
    for start, end, term in ANALYZER.term_spans(text):
        forms.setdefault(term, set()).add(Analyzer.normalize(text[start:end]))
    return forms


def word_forms(text, sentence, idf, present):
    """Surface and prefix signals by regex and word lists, not by substring search."""
    folded = Analyzer.normalize(sentence)
    words = re.findall(r"[^\W_]+", folded)
    same, near = set(), set()
    for term, forms in question_forms(text).items():
        if term in present:
            if any(re.search(rf"(?<![^\W_]){re.escape(w)}(?![^\W_])", folded) for w in forms):
                same.add(term)
        elif any(
            word.startswith(w[:PREFIX])
            for w in forms
            if len(w) >= PREFIX and w[:PREFIX].isalpha()
            for word in words
        ):
            near.add(term)
    return share(idf, same), share(idf, near)


def reference_features(question, candidates, index, idf):
    """Every feature from the analysed text, the sentences around found with index.neighbours."""
    by_id = {sentence.id: score for sentence, score in candidates}
    top = max(by_id.values())
    rows = []
    for sentence, score in candidates:
        terms = ANALYZER.analyze(sentence.text)
        present = set(terms)
        before, after = index.neighbours(sentence)
        around = [set(ANALYZER.analyze(n.text)) if n else set() for n in (before, after)]
        ordered = in_first_order(terms)
        matched = sum(1 for t in terms if t in set(question.terms))
        nearby = sum(by_id.get(n.id, 0.0) for n in (before, after) if n is not None)
        typed = question.kind is not None and has_answer_type(
            question.kind, sentence.text, question.words
        )
        surface, prefix = word_forms(question.text, sentence.text, idf, present)
        linked = {
            t
            for t in question.distinct
            if t not in present
            and any(r in present for r in related(t) if r not in question.distinct)
        }
        rows.append(
            {
                "bm25": score / top,
                "answer_type": float(typed),
                "proximity": closeness(question.terms, ordered),
                "phrase": shared_bigrams(question.terms, ordered),
                "coverage": share(idf, present),
                "context_before": share(idf, around[0] - present),
                "context_after": share(idf, around[1] - present),
                "novelty": 1.0 - matched / len(terms),
                "neighbours": nearby / top,
                "surface": surface,
                "prefix": prefix,
                "related": share(idf, linked),
            }
        )
    return rows


def documents():
    """Four documents: the seed's sentences, then three of them with words moved around.

    They make two segments, and the last document is removed.
    """
    real = split_sentences(SEED_TEXT)
    rng = random.Random(5)

    def perturbed():
        words = rng.choice(real).split()
        start = rng.randrange(len(words))
        end = min(len(words), start + rng.randint(2, 8))
        words[start:end] = reversed(words[start:end])
        return " ".join(words)

    parts = [real, *([perturbed() for _ in range(15)] for _ in range(3))]
    built = []
    next_id = 100
    for number, part in enumerate(parts, start=1):
        ref = DocumentRef(number, f"doc {number}", f"doc{number}.txt")
        # Document 3 starts at position 7: rows must not be assumed to be positions - 1.
        first = 7 if number == 3 else 1
        built.append([Sentence(next_id + i, ref, first + i, t) for i, t in enumerate(part)])
        next_id += 1000
    return built


def segment_of(docs):
    sentences = [s for doc in docs for s in doc]
    return Segment.build(sentences, [ANALYZER.analyze(s.text) for s in sentences])


@pytest.fixture(scope="module")
def index():
    first, second, third, fourth = documents()
    segments = [segment_of([first, second]), segment_of([third, fourth]).without(4)]
    built = SentenceIndex.from_segments(segments, k1=0.6, b=0.5)
    built.prepare()
    return built


def questions(index):
    """Questions made of words of the documents' sentences, plus a few typed ones."""
    rng = random.Random(7)
    made = ["How many Special Operations forces?", "Who met in Brussels?", "when did Carter meet"]
    # Words whose WordNet relatives (battle/fight, leader/led, strategy/strategic) are in them.
    made += ["Which battle was the leader in?", "What strategy did the president speak of?"]
    texts = [s.text for s in index.sentences]
    for _ in range(40):
        words = rng.choice(texts).split()
        start = rng.randrange(len(words))
        made.append(" ".join(words[start : start + rng.randint(2, 6)]))
    # Words from two sentences: their terms are spread, and bigrams rarely match.
    made += [f"{rng.choice(texts)} {rng.choice(texts)}"[:120] for _ in range(10)]
    return made


def test_features_equal_the_reference_computed_from_text(index):
    checked = 0
    across_segments = 0
    linked = 0
    for text in questions(index):
        terms = ANALYZER.analyze(text)
        candidates = index.search(terms, 20)
        if not candidates:
            continue
        documents_hit = {sentence.document.id for sentence, _ in candidates}
        across_segments += bool(documents_hit & {1, 2}) and 3 in documents_hit
        question = Question.of(text, ANALYZER)
        assert question.terms == tuple(terms)
        idf = question_weights(question, index)
        features = candidate_features(question, candidates, index, idf)
        assert features.shape == (len(candidates), len(FEATURES))
        expected_rows = reference_features(question, candidates, index, idf)
        for row, expected in zip(features, expected_rows, strict=True):
            got = dict(zip(FEATURES, row.tolist(), strict=True))
            # Coverage sums the same weights in the same order as the reference: same bits.
            assert got == expected, text
            checked += 1
            linked += got["related"] > 0
    assert checked > 200
    assert across_segments > 10
    assert linked > 5


def test_removed_documents_are_never_candidates_or_neighbours(index):
    removed = {s.id for s in documents()[3]}
    for text in questions(index):
        terms = ANALYZER.analyze(text)
        candidates = index.search(terms, 20)
        for each in rerank(Question.of(text, ANALYZER), candidates, index, RerankWeights()):
            assert each.sentence.id not in removed
            assert {each.before and each.before.id, each.after and each.after.id}.isdisjoint(
                removed
            )
            assert (each.before, each.after) == index.neighbours(each.sentence)


def test_term_table_counts_and_ranks():
    ref = DocumentRef(1, "d", "d.txt")
    texts = ["alpha beta alpha gamma", "gamma delta", "beta beta beta"]
    sentences = [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)]
    index = SentenceIndex(sentences, [t.split() for t in texts])
    table = TermTable.build(index, [sentences[1], sentences[0]], ["alpha", "gamma", "beta", "zeta"])
    # Per term: the two candidates, the sentences before them (0, none), after them (2, 1).
    assert table.tf.tolist() == [
        [0, 2, 2, 0, 0, 0],
        [1, 1, 1, 0, 0, 1],
        [0, 1, 1, 0, 3, 0],
        [0, 0, 0, 0, 0, 0],
    ]
    assert table.rank.tolist() == [[-1, 0], [0, 2], [-1, 1], [-1, -1]]
    assert table.lengths.tolist() == [2, 4]
    assert table.before == [sentences[0], None]
    assert table.after == [sentences[2], sentences[1]]


def test_reference_closeness_and_bigrams():
    assert closeness(["a", "b"], ["a", "b", "x"]) == 1.0
    assert closeness(["a", "b"], ["a", "x", "x", "b"]) == 0.5
    assert closeness(["a", "b"], ["a", "x"]) == 0.0
    assert shared_bigrams(["a", "b", "c"], ["a", "b", "x", "c"]) == 0.5
    assert shared_bigrams(["a"], ["a"]) == 0.0


def test_confidence_is_one_computation(index):
    # The answer's confidence, the coverage feature and confidence_of agree to the last bit:
    # a sentence's own share, or the larger of it and its lead-in's (a headline above it).
    passed_on = 0
    for text in questions(index):
        answer = answer_question(text, index, ANALYZER, min_confidence=0.0)
        question = Question.of(text, ANALYZER)
        for hit in answer.hits:
            idf = question_weights(question, index)
            own = coverage(idf, ANALYZER.analyze(hit.sentence.text))
            assert own == confidence_of(question, hit.sentence.text, index, ANALYZER)
            lead_in = (
                0.0 if hit.section is None else coverage(idf, ANALYZER.analyze(hit.section.text))
            )
            assert hit.confidence in (own, max(own, lead_in))
            passed_on += hit.confidence != own
    assert passed_on


def test_features_of_no_candidates_and_equal_weights(index):
    question = Question.of("anything", ANALYZER)
    assert candidate_features(question, [], index).shape == (0, len(FEATURES))
    terms = ANALYZER.analyze("Carter coalition meeting")
    candidates = index.search(terms, 5)
    question = Question.of("Carter coalition meeting", ANALYZER)
    equal = candidate_features(question, candidates, index)
    assert np.all((equal[:, FEATURES.index("coverage")] * 3).round(9) % 1 == 0)


def test_candidates_without_terms_or_score_get_plain_features():
    # The quality benchmark ranks every sentence of a paragraph, even one made of stopwords.
    ref = DocumentRef(1, "d", "d.txt")
    texts = ["Rivers flow to the sea.", "It is what it is.", "The sea is salty."]
    sentences = [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)]
    index = SentenceIndex(sentences, [ANALYZER.analyze(t) for t in texts])
    with np.errstate(all="raise"):
        features = candidate_features(
            Question.of("where do rivers flow", ANALYZER), [(s, 0.0) for s in sentences], index
        )
    rows = [dict(zip(FEATURES, row.tolist(), strict=True)) for row in features]
    assert rows[1]["novelty"] == 0.0 and rows[1]["coverage"] == 0.0
    assert rows[0]["proximity"] == 1.0 and rows[0]["phrase"] == 1.0
    assert all(row["bm25"] == 0.0 for row in rows)


def test_surface_and_prefix_see_the_words_behind_the_stems():
    ref = DocumentRef(1, "d", "d.txt")
    texts = [
        "The council broadcast its decision.",
        "The council broadcasts what it decides.",
        "Broadcasting had been decided by the councillors.",
    ]
    sentences = [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)]
    index = SentenceIndex(sentences, [ANALYZER.analyze(t) for t in texts])
    question = Question.of("Who broadcast the council's decision?", ANALYZER)
    assert question.surfaces == (("broadcast",), ("council",), ("decision",))
    assert question.prefixes == (("broa",), ("coun",), ("deci",))
    weights = {term: 1.0 for term in question.distinct}
    features = candidate_features(question, [(s, 1.0) for s in sentences], index, weights)
    rows = [dict(zip(FEATURES, row.tolist(), strict=True)) for row in features]
    # Every word as asked; then the same stems in other words, and "decides" only by prefix.
    assert [row["surface"] for row in rows] == [1.0, 1 / 3, 0.0]
    assert rows[1]["coverage"] == 2 / 3 and rows[1]["prefix"] == 1 / 3
    # "councillors" is neither the stem "council" nor the word, but starts like it.
    assert rows[2]["coverage"] == 1 / 3 and rows[2]["prefix"] == 2 / 3


# The answer-type patterns as first written: alternations matched case-insensitively.
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    "fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens|"
    "half|quarter|twice|double|triple|percent"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
REFERENCE_PATTERNS = {
    AnswerType.NUMBER: re.compile(rf"\d+(?:[.,]\d+)*|\b({_NUMBER_WORDS})\b", re.IGNORECASE),
    AnswerType.DATE: re.compile(
        rf"\b(1\d{{3}}|20\d{{2}})s?\b|\b({_MONTHS})\b|\bcentur(y|ies)\b|\b\d+(st|nd|rd|th)\b|"
        r"\b(bc|bce|ad|ce)\b|\bdecades?\b",
        re.IGNORECASE,
    ),
    AnswerType.PERSON: re.compile(r"(?<=[\s(\"'])([A-Z][\w'’-]+)"),
    AnswerType.PLACE: re.compile(r"(?<=[\s(\"'])([A-Z][\w'’-]+)"),
}


def test_answer_types_match_the_plain_patterns():
    sentences = [
        *split_sentences(SEED_TEXT),
        "It was One of ONE_two, 5one and 1.5,3 in x1990s, the 1990s, the 21ST and décades.",
        "Ⅻ ½ ١٢٣ in the 12th-century, ﬁfty or Fifty or ＦＩＦＴＹ in ２０１０; AD 1066s.",
        "(Bob) met 'Alice' and \"Carol\" with O’Neil-Smith on 3 March at twenty past two.",
        "someone said nonetheless that decadent centurions were at the madhouse",
        "",
    ]
    questions = [frozenset(), frozenset({"50", "one", "march", "1990s", "bob", "twenty", "2010"})]
    for kind, pattern in REFERENCE_PATTERNS.items():
        for words in questions:
            for sentence in sentences:
                expected = any(
                    m.group().casefold() not in words for m in pattern.finditer(sentence)
                )
                assert has_answer_type(kind, sentence, words) == expected, (kind, sentence)
