"""General-English rarity and the question weights it scales."""

import math

import pytest
from spellchecker import SpellChecker

from retrieval import Analyzer, DocumentRef, Sentence, SentenceIndex
from retrieval.answer import question_weights
from retrieval.rarity import OFFSET, rarity
from retrieval.rerank import Question

ANALYZER = Analyzer()
FREQUENCY = SpellChecker(language="en", distance=1).word_frequency


def reference_rarity(word):
    """log10(1 / the word's share of all words) - OFFSET, from pyspellchecker's own lookup."""
    count = max(FREQUENCY[word], min(FREQUENCY.dictionary.values()))
    return max(0.0, math.log10(FREQUENCY.total_words / count) - OFFSET)


def test_rarity_follows_the_english_counts():
    for word in ["the", "what", "city", "football", "denver", "zeolite", "don't", "1985", "xqzv"]:
        assert rarity(word) == pytest.approx(reference_rarity(word), rel=1e-12, abs=1e-12)
    # The commonest words weigh nothing; words the list lacks weigh the most.
    assert rarity("the") == rarity("of") == 0.0
    assert rarity("city") < rarity("football") < rarity("denver") < rarity("xqzv")
    # The list's rarest words weigh as words it lacks, such as most numbers.
    assert rarity("zeolite") == rarity("1985") == rarity("xqzv") > 5


def test_question_weights_are_idf_times_the_rarity_of_the_question_word():
    ref = DocumentRef(1, "d", "d.txt")
    texts = ["The Broncos won the title.", "The team won the game.", "Rain fell."]
    sentences = [Sentence(i, ref, i + 1, t) for i, t in enumerate(texts)]
    index = SentenceIndex(sentences, [ANALYZER.analyze(t) for t in texts])
    question = Question.of("Which team won, the Broncos?", ANALYZER)
    assert question.surfaces == (("team",), ("won",), ("broncos",))
    assert question.rarity == tuple(rarity(w) for w in ("team", "won", "broncos"))
    weights = question_weights(question, index)
    plain = question_weights(question, index, rarity=False)
    assert plain == {term: index.idf(term) for term in question.distinct}
    for term, scale in zip(question.distinct, question.rarity, strict=True):
        assert weights[term] == plain[term] * scale
    # "team" and "broncos" occur once each here; English says which is the telling word.
    broncos, team = question.distinct[2], question.distinct[0]
    assert plain[broncos] == plain[team] and weights[broncos] > 2 * weights[team]
