"""How alike two questions are, for "asked before"."""

import pytest

from retrieval.similar import SIMILAR, most_similar, similarity
from tests.retrieval.test_answer import ANALYZER

WEIGHTS = {"widget": 3.0, "spare": 2.0, "kept": 1.0, "blue": 2.0}


def weight(term: str) -> float:
    return WEIGHTS.get(term, 1.0)


def test_similarity_is_the_shared_share_of_the_weight():
    assert similarity(["widget", "spare"], ["spare", "widget"], weight) == 1.0
    assert similarity(["widget", "spare", "kept"], ["widget", "spare"], weight) == pytest.approx(
        5 / 6
    )
    assert similarity(["widget"], ["blue"], weight) == 0.0
    assert similarity([], [], weight) == 0.0


def test_the_closest_earlier_question_above_the_threshold_is_found():
    earlier = [
        (1, "when do widgets get maintained?"),
        (2, "Where are the spare widgets kept?"),
        (3, "where are spare widgets kept"),
    ]
    found = most_similar("where are spare widgets kept?", earlier, ANALYZER, weight)
    assert found == 2  # as alike as 3, and given first
    assert most_similar("who chairs the committee?", earlier, ANALYZER, weight) is None
    assert most_similar("?", earlier, ANALYZER, weight) is None
    # Sharing the rarest word is not enough to be the same question.
    assert most_similar("which widgets are blue?", earlier, ANALYZER, weight) is None
    assert 0 < SIMILAR < 1
