"""A long text cut at paragraph breaks splits into exactly the sentences of the whole."""

import random

import pytest

from retrieval import split_sentences
from retrieval.sentences import paragraph_pieces
from tests.conftest import ROOT, SEEDS

# Paragraph breaks of every shape the pattern accepts, and line breaks that are not breaks.
SEPARATORS = ["\n\n", "\n \n", "\n\t\n\n", "\n\n\n", "\n \n \n", " \n\n ", "\n", "\r\n\r\n"]
WORDS = (
    "Dr. Smith went to Washington. He said hi! U.S. law, e.g. this one. 1. First 2. Second "
    ". . . . Next at 9 A.M. Then - item • bullet Heading"
).split(" ")


def pieces_split(text: str, size: int) -> list[str]:
    return [
        sentence for piece in paragraph_pieces(text, size) for sentence in split_sentences(piece)
    ]


@pytest.mark.parametrize("size", [0, 1, 40, 1_000, 10**9])
def test_real_documents_split_the_same_in_pieces(size):
    for text in [(ROOT / "README.md").read_text(), *(p.read_text() for p in SEEDS.glob("*"))]:
        assert pieces_split(text, size) == split_sentences(text)


def test_random_texts_split_the_same_in_pieces():
    rng = random.Random(4)
    for _ in range(200):
        parts = []
        for _ in range(rng.randint(1, 20)):
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 10))))
            parts.append(rng.choice(SEPARATORS))
        text = "".join(parts[: rng.randint(1, len(parts))])
        for size in (0, 1, 7, 60):
            assert pieces_split(text, size) == split_sentences(text), (text, size)


def test_pieces_cover_the_text_and_respect_the_size():
    text = "\n\n".join(f"Paragraph {n} has a sentence." for n in range(100))
    pieces = paragraph_pieces(text, 300)
    assert "\n\n".join(pieces) == text
    assert all(len(piece) >= 300 for piece in pieces[:-1]) and len(pieces) > 5
    assert paragraph_pieces("", 10) == [""]
