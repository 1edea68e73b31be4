"""The reader's training data: questions as members type them, near misses, a teacher's logits."""

import random
import re

from retrieval.build_reader import (
    Casualiser,
    NearMiss,
    teach,
    wordnet_antonyms,
    wordnet_synonyms,
)
from retrieval.reader import READER_FILES, Reader
from tests.conftest import SEED_ANSWER
from tests.retrieval.test_related import HEADER, WORDNET

QUESTION = "Who invented the printing press in Europe?"
ANSWER = ["Johannes Gutenberg invented the printing press around 1440."]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_synonyms_are_the_first_senses_other_words_not_common_ones(tmp_path):
    for name, lines in WORDNET.items():
        (tmp_path / name).write_text(HEADER + "".join(line + "\n" for line in lines))
    synonyms = wordnet_synonyms(tmp_path)
    # invent's first sense only (fabricate is its second); "buy" is too common to swap;
    # "united_states" is several words.
    assert synonyms["invent"] == ["contrive"]
    assert synonyms["contrive"] == ["invent"]
    assert "fabricate" not in synonyms["invent"]
    assert "buy" not in synonyms
    assert "united_states" not in synonyms
    # America's only other word is United_States: nothing to swap it for.
    assert "america" not in synonyms


def test_the_same_seed_rewrites_the_same_way():
    synonyms = {"invented": ["devised"], "press": ["printer"]}
    first, again = Casualiser(random.Random(7), synonyms), Casualiser(random.Random(7), synonyms)
    assert [first(QUESTION, ANSWER) for _ in range(50)] == [
        again(QUESTION, ANSWER) for _ in range(50)
    ]


def test_rewrites_swap_only_words_the_answer_shares_and_keep_the_rest():
    synonyms = {"invented": ["devised"], "europe": ["continent"], "who": ["whom"]}
    casual = Casualiser(random.Random(1), synonyms)
    rewrites = [casual(QUESTION, ANSWER) for _ in range(400)]
    assert any("devised" in _words(each) for each in rewrites)
    # "Europe" and "who" are not in the answer: never swapped.
    assert not any("continent" in _words(each) or "whom" in _words(each) for each in rewrites)
    assert any(each == QUESTION for each in rewrites)
    assert any(each == each.lower() and not each.endswith("?") for each in rewrites)
    for each in rewrites:
        # At most one word swapped and one typo: the question stays recognisable.
        original = set(_words(QUESTION))
        assert len(original - set(_words(each))) <= 2, each


def test_a_typo_leaves_out_swaps_or_doubles_a_letter_of_one_longer_word():
    casual = Casualiser(random.Random(3), {})
    for _ in range(200):
        typo = casual._typo("the printing press")
        before, after = "the printing press".split(), typo.split()
        assert before[0] == after[0]  # three letters: too short for a typo
        changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        assert len(changed) == 1
        word, typed = changed[0]
        if len(typed) == len(word):  # two neighbouring letters swapped
            assert sorted(typed) == sorted(word)
            assert sum(a != b for a, b in zip(word, typed, strict=True)) == 2
        else:  # one left out or doubled, never the last
            assert abs(len(word) - len(typed)) == 1
            assert typed[-1] == word[-1]


def test_a_teacher_gives_each_pair_the_logit_it_gives_the_pair_read_alone():
    pairs = [
        {"q": "how many Special Operations forces?", "s": SEED_ANSWER, "y": 1},
        {"q": "how many Special Operations forces?", "s": "The meeting is in Paris.", "y": 0},
    ]
    teach(pairs, READER_FILES.model)
    reader = Reader()
    for pair in pairs:
        assert pair["t"] == float(reader.score(pair["q"], [pair["s"]])[0])
    assert pairs[0]["t"] > pairs[1]["t"]


ARTICLE = [
    "Johannes Gutenberg invented the printing press around 1440.",
    "Later presses in Venice printed books in 1469 for Aldus Manutius.",
    "Printing spread to Paris and to London.",
]


def test_antonyms_are_read_both_ways(tmp_path):
    for name, lines in WORDNET.items():
        (tmp_path / name).write_text(HEADER + "".join(line + "\n" for line in lines))
    antonyms = wordnet_antonyms(tmp_path)
    assert antonyms == {"large": ["small"], "small": ["large"]}


def test_a_near_miss_swaps_a_shared_name_or_number_for_another_of_the_article():
    near_miss = NearMiss(random.Random(5), {})
    question = "When did Gutenberg invent the press in 1440?"
    made = {near_miss(question, ARTICLE[:1], ARTICLE) for _ in range(200)}
    # Gutenberg for a name the answer lacks, 1440 for another year; "When" starts the
    # question and is no name. Names the answer holds are never swapped in.
    names = {"Venice", "Aldus", "Manutius", "Paris", "London"}
    assert made == {question.replace("Gutenberg", n) for n in names} | {
        question.replace("1440", "1469")
    }


def test_a_near_miss_turns_a_shared_word_into_its_antonym():
    near_miss = NearMiss(random.Random(5), {"large": ["small"], "the": ["a"]})
    question = "which large press did they build first"
    answer = ["They built the large press first."]
    # No name or number to swap, and "the" is too common: only the antonym.
    assert near_miss(question, answer, answer) == "which small press did they build first"


def test_no_near_miss_without_a_word_to_change():
    near_miss = NearMiss(random.Random(5), {"large": ["small"]})
    # "large" is not in the answer, and the answer's names are all the article has.
    assert near_miss("who built a large press?", ARTICLE[:1], ARTICLE[:1]) is None
