"""Our word pieces are Hugging Face tokenizers' for the same file, on real and hostile text."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from retrieval.onnx_model import TOKENIZER_FILE
from retrieval.wordpiece import WordPiece
from tests.conftest import SEED_TEXT

REAL = [line for line in SEED_TEXT.splitlines() if line.strip()] + [
    "wait does xz actually stand for something or",
    "whats the diffrence between lzma and lzma2 anyway??",
    "can i unzip a .7z w/ xz or nah",
    "Naïve café résumé — “quoted” ‘text’ … U.S. $22,000 (approx.) 3.5% e-mail@x.org",
    "ΣΑΣ ΟΔΟΣ İstanbul straße ǅ ﬁ ℌ 𝔘 ①",
    "中文字符和日本語のテキスト한국어",
    "tabs\tand\nnew\rlines\x00nul\ufffdrepl\u200bzw\u00a0nbsp\x85nel\x1c",
    "emoji 😀👍🏽 and symbols ©®™ ±×÷ → ⇒",
    "a" * 150,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    # Special tokens written in a text are those tokens (in upper case only).
    "a [SEP] b [MASK]c[UNK] [cls] [PAD]",
]


def ours_and_theirs(max_tokens: int) -> tuple[WordPiece, Tokenizer]:
    text = TOKENIZER_FILE.read_text(encoding="utf-8")
    theirs = Tokenizer.from_str(text)
    theirs.no_padding()
    theirs.enable_truncation(max_tokens, strategy="longest_first")
    return WordPiece(text, max_tokens), theirs


@pytest.mark.parametrize("text", REAL)
def test_single_texts_match(text):
    ours, theirs = ours_and_theirs(128)
    expected = theirs.encode(text)
    got = ours.encode(text)
    assert (got.ids, got.type_ids) == (expected.ids, expected.type_ids)


@pytest.mark.parametrize("max_tokens", [20, 64])
@pytest.mark.parametrize("first", [REAL[0], REAL[1], REAL[4], " ".join(REAL[:3])])
@pytest.mark.parametrize("second", [REAL[2], REAL[3], " ".join(REAL[3:6])])
def test_pairs_and_their_cutting_match(first, second, max_tokens):
    ours, theirs = ours_and_theirs(max_tokens)
    expected = theirs.encode(first, second)
    got = ours.encode(first, second)
    assert (got.ids, got.type_ids) == (expected.ids, expected.type_ids)


# The Basic Multilingual Plane (every living script), less what the two libraries' Unicode
# tables (Python 3.11's 14.0; the Rust crates' own, some older, some newer) may classify
# differently: unassigned code points, and combining marks added to Unicode since the oldest
# of them (U+0C04, a Telugu sign of Unicode 11, is a mark to one and a letter to the other;
# the accents of real text are in REAL above). Lone surrogates are left out too: no decoded
# text holds one, and the Rust library refuses them.
KNOWN = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cn", "Cs", "Mn"))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(KNOWN, max_size=80), st.text(KNOWN, max_size=80))
def test_any_text_matches(first, second):
    ours, theirs = ours_and_theirs(40)
    expected = theirs.encode(first, second)
    got = ours.encode(first, second)
    assert (got.ids, got.type_ids) == (expected.ids, expected.type_ids)


# ASCII text takes its own short cut through normalising and splitting: every ASCII code,
# control characters and punctuation included.
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(st.characters(max_codepoint=0x7F), max_size=80), st.text(KNOWN, max_size=40))
def test_any_ascii_text_matches(first, second):
    ours, theirs = ours_and_theirs(48)
    assert ours.encode(first).ids == theirs.encode(first).ids
    expected = theirs.encode(first, second)
    got = ours.encode(first, second)
    assert (got.ids, got.type_ids) == (expected.ids, expected.type_ids)


def test_the_vocabulary_is_the_files():
    ours, _ = ours_and_theirs(64)
    vocab = json.loads(TOKENIZER_FILE.read_text(encoding="utf-8"))["model"]["vocab"]
    assert ours.vocab == vocab and len(vocab) == 30522
