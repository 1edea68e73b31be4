"""Follow-up questions in a thread: which lean on the first question, and how they are ranked."""

import pytest

from retrieval import answer_question
from retrieval.followup import answer_follow_up, needs_context
from tests.retrieval.test_answer import ANALYZER, make_index

PLATFORMS = [
    "On Linux, widgets install with the package manager.",
    "On Windows, widgets install from the setup wizard.",
    "On Linux, gadgets are repaired at home by their owners.",
    "On Windows, gadgets are repaired in the workshop behind the main office building on weekdays.",
    "Gadgets are shipped from the warehouse every Monday.",
]
GADGETS_ON_WINDOWS = PLATFORMS[3]


@pytest.fixture(scope="module")
def index():
    return make_index(PLATFORMS)


@pytest.mark.parametrize(
    ("question", "leans"),
    [
        ("and in Syria?", True),
        ("what about windows?", True),
        ("How about on Linux?", True),
        ("how long does it take?", True),
        ("widgets?", True),
        ("where are spare widgets kept?", False),
        ("how are gadgets repaired on linux?", False),
        ("?!", False),
    ],
)
def test_short_questions_and_those_that_point_back_need_context(question, leans):
    assert needs_context(question, ANALYZER) is leans


def test_a_follow_up_is_ranked_with_the_earlier_question(index):
    alone = answer_question("what about windows?", index, ANALYZER)
    assert alone.hits[0].sentence.text != GADGETS_ON_WINDOWS

    answer = answer_follow_up(
        "what about windows?", "how are gadgets repaired on linux?", index, ANALYZER, top_k=3
    )

    assert [hit.sentence.text for hit in answer.hits] == [GADGETS_ON_WINDOWS]
    assert answer.question == "what about windows?"
    # The same follow-up after another first question follows that one.
    other = answer_follow_up(
        "what about windows?", "how do widgets install on linux?", index, ANALYZER, top_k=3
    )
    assert other.hits[0].sentence.text == PLATFORMS[1]


def test_sentences_without_the_follow_ups_own_words_are_not_kept(index):
    # The earlier question's best sentence (about Linux) says nothing about Windows.
    answer = answer_follow_up(
        "and on windows?", "how are gadgets repaired on linux?", index, ANALYZER, top_k=5
    )
    assert answer.hits
    assert all("Windows" in hit.sentence.text for hit in answer.hits)
    # A follow-up whose own words no document holds is not answered from the earlier one's.
    nothing = answer_follow_up(
        "and on macos?", "how are gadgets repaired on linux?", index, ANALYZER, top_k=3
    )
    assert not nothing.answered
