"""Sentence splitting: abbreviations, lines, headings, list items and tricky text."""

import json
import random
from pathlib import Path

import pytest

from retrieval.sentences import (
    MAX_SENTENCE_CHARS,
    paragraph_pieces,
    split_sentence_spans,
    split_sentences,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "seeds" / "coalition-meeting-isis.txt").read_text(encoding="utf-8")
GOLDEN_RULES = ROOT.parent / "shared" / "eval" / "golden_rules_en.json"


def test_us_abbreviation_does_not_end_the_sentence():
    sentences = split_sentences(SEED)
    assert any(s.startswith("U.S. Defense Secretary Ashton Carter said Sunni") for s in sentences)
    assert "U.S." not in sentences


def test_two_sentences_on_one_line_are_split():
    sentences = split_sentences(SEED)
    thursday = next(s for s in sentences if s.startswith("Around 22,000 jihadists"))
    assert thursday.endswith("said on Thursday.")
    assert sentences[sentences.index(thursday) + 1].startswith("For this to work,")


def test_heading_paragraphs_and_list_items_are_boundaries():
    text = "Getting started\nInstall the bot and run it today\n\n- first item\n- second item"
    assert split_sentences(text) == [
        "Getting started",
        "Install the bot and run it today",
        "- first item",
        "- second item",
    ]


def test_short_lines_without_bullets_are_a_list_unless_a_line_goes_on_in_lower_case():
    # Rules pasted into Discord come one a line; no text is wrapped this narrow.
    assert split_sentences("No spam\nBe kind\nNo ads") == ["No spam", "Be kind", "No ads"]
    assert split_sentences("The kettle\nboils fast.") == ["The kettle boils fast."]
    wrapped = "Boil water for one minute and then let it stand for\nA while to cool."
    assert split_sentences(wrapped) == [wrapped.replace("\n", " ")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived at 5 p.m. on Monday. He left.", 2),
        ("It costs $5.50. That is cheap.", 2),
        ("She works at Yahoo! in the accounting department.", 1),
        ('She turned to him, "This is great." she said.', 1),
        ("We make a good team, you and I. Did you see Albert I. Jones yesterday?", 2),
        ("1. Buy milk. 2. Buy eggs.", 2),
        ("a. The first item b. The second item c. The third list item", 3),
        ("He waited . . . and waited. Then he left.", 2),
        ("At 5 a.m. Mr. Smith went out. He came back at 6 P.M. Mr. Smith then slept.", 3),
    ],
)
def test_tricky_text(text, expected):
    assert len(split_sentences(text)) == expected


def test_list_label_is_not_a_sentence_of_its_own():
    assert split_sentences("1. Buy milk\n2. Buy eggs") == ["1. Buy milk", "2. Buy eggs"]


def test_a_bullet_list_on_one_line_is_split_into_its_items():
    text = "• First item • Second item • Third item"
    assert split_sentences(text) == ["• First item", "• Second item", "• Third item"]
    # A long one stays cheap: each bullet is matched in place, not in a copy of the rest.
    assert len(split_sentences("• x " * 20_000)) == 20_000


def test_whitespace_is_collapsed_and_empty_pieces_dropped():
    text = "One   line that wraps\nover two.\n\n...\n\n"
    assert split_sentences(text) == ["One line that wraps over two."]
    assert split_sentences("") == []


def test_spans_point_into_the_text():
    text = "First one here.  Second one.\n\nThird paragraph, with\na wrap."
    spans = split_sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "First one here.",
        "Second one.",
        "Third paragraph, with\na wrap.",
    ]


def test_deterministic_and_never_crosses_a_paragraph():
    rng = random.Random(7)
    words = ["Dr.", "U.S.", "e.g.", "1.", "a.", "...", ". . .", "Yes!", "no?", "It", "the", "(x.)"]
    for _ in range(200):
        paragraphs = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(3)]
        text = "\n\n".join(paragraphs)
        first = split_sentences(text)
        assert first == split_sentences(text)
        for start, end in split_sentence_spans(text):
            assert "\n\n" not in text[start:end]


def pieces_of(text: str) -> list[str]:
    """The sentences of a text, checked to be verbatim spans of it within the length cap."""
    spans = split_sentence_spans(text)
    for start, end in spans:
        assert 0 < end - start <= MAX_SENTENCE_CHARS
        assert not text[start].isspace() and not text[end - 1].isspace()
    sentences = split_sentences(text)
    assert sentences == [" ".join(text[a:b].split()) for a, b in spans]
    # Nothing lost, nothing repeated, in order.
    assert "".join(sentences).replace(" ", "") == "".join(text.split())
    return sentences


def test_a_run_on_sentence_of_megabytes_is_cut_between_words():
    rng = random.Random(3)
    words = "the ferry leaves the harbour at seven and tickets cost four dollars".split()
    text = " ".join(rng.choice(words) for _ in range(1_000_000))
    sentences = pieces_of(text)
    # Even pieces, each more than half the cap: about as few as the cap allows.
    assert len(sentences) <= len(text) // (MAX_SENTENCE_CHARS // 2)
    assert sentences == split_sentences(text)  # the same cuts every time


def test_a_long_sentence_is_cut_at_clause_boundaries_first():
    items = [
        f"the member for district {n} , who sat from {1900 + n} to {1950 + n}" for n in range(60)
    ]
    text = "Members: " + "; ".join(items) + "."
    assert len(text) > 2 * MAX_SENTENCE_CHARS
    sentences = pieces_of(text)
    assert len(sentences) >= 3
    assert all(sentence.endswith(";") for sentence in sentences[:-1])
    # Without semicolons, commas; and a dash may touch the next word.
    assert all(s.endswith(",") for s in pieces_of(text.replace(";", ""))[:-1])
    dashed = pieces_of("—".join(["word " * 30 + "word"] * 40))
    assert all(s.endswith("—") for s in dashed[:-1])


def test_a_word_longer_than_the_cap_is_cut_anyway():
    text = "Start " + "x" * (3 * MAX_SENTENCE_CHARS) + " end."
    sentences = pieces_of(text)
    assert len(sentences) == 4


def test_long_sentences_split_the_same_in_paragraph_pieces():
    long_paragraph = " ".join(["a long clause, with words"] * 200)
    text = "\n\n".join(["Short one. Another.", long_paragraph, "Last."] * 5)
    pieces = paragraph_pieces(text, 3_000)
    assert len(pieces) > 1
    assert [s for piece in pieces for s in split_sentences(piece)] == pieces_of(text)


@pytest.mark.skipif(not GOLDEN_RULES.exists(), reason="shared evaluation data not present")
def test_every_golden_rule_is_split_right():
    # The issue asks for 42 of 48; all 48 pass, so any regression shows up here.
    rules = json.loads(GOLDEN_RULES.read_text(encoding="utf-8"))["rules"]
    wrong = [rule["text"] for rule in rules if split_sentences(rule["text"]) != rule["expected"]]
    assert len(rules) == 48
    assert wrong == []
