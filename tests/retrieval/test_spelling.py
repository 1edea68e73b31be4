"""A question's misspelt words are mended to words its documents use, and nothing else is."""

import pytest

from retrieval.analyzer import Analyzer
from retrieval.answer import answer_question
from retrieval.spelling import mended, mended_word, one_edit
from tests.retrieval.documents import index_of

ANALYZER = Analyzer()
DOCUMENT = [
    "xz can compress with several threads at once.",
    "Each thread compresses its own block of the input.",
    "The difference between LZMA and LZMA2 is how they handle incompressible data.",
    "Report harassing messages to the moderators.",
    "Use heads or tails to decide who goes first.",
]


INDEX = index_of(DOCUMENT, ANALYZER)


def test_one_edit_drops_swaps_changes_and_inserts_a_letter():
    edits = one_edit("form")
    assert {"for", "from", "farm", "forms"} <= edits
    assert "form" not in edits
    assert "fro" not in edits  # two edits away


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("diffrence", "difference"),  # a letter dropped
        ("harrassing", "harassing"),  # a letter doubled
        # "heads" is commoner in English, but the documents say "threads" more often.
        ("theads", "threads"),
        ("Diffrence", "difference"),
    ],
)
def test_a_misspelt_word_becomes_the_word_the_documents_use(typed, meant):
    assert mended_word(typed, ANALYZER, INDEX) == meant


@pytest.mark.parametrize(
    "word",
    [
        "threads",  # the documents use it
        "squishes",  # English, though no document uses it: a casual word, not a typo
        "havent",  # a contraction with its apostrophe left out, not "haven"
        "blok",  # too short to guess (one edit from too many words)
        "zqxwvy",  # nothing one edit away that the documents use
        "lzma2",  # not letters only
    ],
)
def test_other_words_are_left_as_typed(word):
    assert mended_word(word, ANALYZER, INDEX) is None


def test_a_question_keeps_everything_but_its_misspelt_words():
    question = "whats the diffrence between lzma and lzma2??"
    assert mended(question, ANALYZER, INDEX) == "whats the difference between lzma and lzma2??"


def test_a_misspelt_question_is_answered_as_if_spelt_right():
    # Unmended, "diffrence" is the question's only word and no document uses it.
    typed = answer_question("the diffrence?", INDEX, ANALYZER)
    spelt = answer_question("the difference?", INDEX, ANALYZER)
    assert typed.hits and typed.hits[0].sentence.text == DOCUMENT[2]
    assert [hit.sentence for hit in typed.hits] == [hit.sentence for hit in spelt.hits]
    # The answer carries the question as it was asked.
    assert typed.question == "the diffrence?"
