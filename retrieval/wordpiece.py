"""BERT's uncased word pieces, as the models were trained with them: the text to token ids.

The same steps as Hugging Face tokenizers' BertNormalizer, BertPreTokenizer, WordPiece and
BERT's template, which tests/retrieval/test_wordpiece.py checks against that library on real
and hostile text. Our own, in a few lines, because the library brings 30 MB of dependencies
(an HTTP stack, a hub client) to a bot that never downloads anything.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Character categories BERT removes (control, format, unassigned, private use, surrogates).
_OTHER = frozenset({"Cc", "Cf", "Cn", "Co", "Cs"})
# Ideographs get spaces around them: each is a word.
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
_MAX_WORD_CHARS = 100
_CONTINUATION = "##"
# ASCII text (most of it) takes a short cut: controls dropped, white space made spaces.
_ASCII_CLEAN = {code: None for code in (*range(32), 127)} | {9: " ", 10: " ", 13: " "}
_ASCII_PUNCTUATION = frozenset(
    chr(code) for code in (*range(33, 48), *range(58, 65), *range(91, 97), *range(123, 127))
)
# In normalised ASCII text the only white space left is the space: a word is a run of what is
# neither, and each punctuation mark a word of its own. One regular expression, not a loop
# over every character.
_ASCII_MARKS = re.escape("".join(sorted(_ASCII_PUNCTUATION)))
_ASCII_WORDS = re.compile(f"[^ {_ASCII_MARKS}]+|[{_ASCII_MARKS}]")


@dataclass(frozen=True, slots=True)
class Encoded:
    """Token ids and their segment (type) ids, special tokens included."""

    ids: list[int]
    type_ids: list[int]


class WordPiece:
    """Encodes texts, or pairs of texts, into word-piece ids, cut to `max_tokens` in all."""

    def __init__(self, tokenizer_json: str, max_tokens: int) -> None:
        tokenizer = json.loads(tokenizer_json)
        model = tokenizer["model"]
        self.vocab: dict[str, int] = model["vocab"]
        # "[SEP]", "[MASK]"... written in a text are those tokens, as in the text the models
        # were trained on: matched before normalising, case and all.
        self._special_ids: dict[str, int] = {
            token["content"]: token["id"]
            for token in tokenizer.get("added_tokens", [])
            if not token.get("normalized", True)
        }
        self._specials = (
            re.compile("(" + "|".join(map(re.escape, self._special_ids)) + ")")
            if self._special_ids
            else None
        )
        self.max_tokens = max_tokens
        self._unk = self.vocab[model["unk_token"]]
        self._cls = self.vocab["[CLS]"]
        self._sep = self.vocab["[SEP]"]
        self._word_ids = lru_cache(maxsize=65_536)(self._pieces)

    def encode(self, text: str, pair: str | None = None) -> Encoded:
        """[CLS] text [SEP] (pair [SEP]): the longer part is cut first, from its end."""
        first = self.tokens(text)
        if pair is None:
            first = first[: self.max_tokens - 2]
            return Encoded([self._cls, *first, self._sep], [0] * (len(first) + 2))
        second = self.tokens(pair)
        first, second = _longest_first(first, second, self.max_tokens - 3)
        ids = [self._cls, *first, self._sep, *second, self._sep]
        return Encoded(ids, [0] * (len(first) + 2) + [1] * (len(second) + 1))

    def tokens(self, text: str) -> list[int]:
        """The word-piece ids of a text, without cutting or the template's special tokens."""
        if self._specials is None or not self._specials.search(text):
            return self._text_ids(text)
        ids: list[int] = []
        for number, part in enumerate(self._specials.split(text)):
            # split() puts what its group matched at the odd places.
            if number % 2:
                ids.append(self._special_ids[part])
            else:
                ids.extend(self._text_ids(part))
        return ids

    def _text_ids(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in _words(_normalized(text)):
            ids.extend(self._word_ids(word))
        return ids

    def _pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > _MAX_WORD_CHARS:
            return (self._unk,)
        vocab = self.vocab
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else _CONTINUATION + word[start:end]
                found = vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return (self._unk,)
            pieces.append(found)
            start = end
        return tuple(pieces)


def _longest_first(first: list[int], second: list[int], room: int) -> tuple[list[int], list[int]]:
    """Cut a pair to `room` tokens as tokenizers' LongestFirst does.

    The shorter part (the first, on a tie) keeps up to half the room; the longer one the rest.
    """
    if len(first) + len(second) <= room:
        return first, second
    if len(first) > len(second):
        kept = min(len(second), room // 2)
        return first[: room - kept], second[:kept]
    kept = min(len(first), room // 2)
    return first[:kept], second[: room - kept]


def _normalized(text: str) -> str:
    """BertNormalizer: no control characters, ideographs apart, no accents, lower case.

    White space becomes a space. Lower case is taken a character at a time, as Rust does: no
    final-sigma rule.
    """
    if text.isascii():
        return text.translate(_ASCII_CLEAN).lower()
    out: list[str] = []
    for char in text:
        if char in "\t\n\r":
            out.append(" ")
            continue
        if char == "\0" or char == "\ufffd" or unicodedata.category(char) in _OTHER:
            continue
        if char.isspace():
            out.append(" ")
        elif _is_cjk(ord(char)):
            out.extend((" ", char, " "))
        else:
            out.append(char)
    decomposed = unicodedata.normalize("NFD", "".join(out))
    return "".join(c.lower() for c in decomposed if unicodedata.category(c) != "Mn")


def _words(text: str) -> list[str]:
    """BertPreTokenizer: words split at white space, each punctuation mark a word of its own."""
    if text.isascii():
        return _ASCII_WORDS.findall(text)
    words: list[str] = []
    for chunk in text.split():
        start = 0
        for at, char in enumerate(chunk):
            if _is_punctuation(char):
                if at > start:
                    words.append(chunk[start:at])
                words.append(char)
                start = at + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


def _is_punctuation(char: str) -> bool:
    if char in _ASCII_PUNCTUATION:
        return True
    return char >= "\x80" and unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return code >= 0x3400 and any(low <= code <= high for low, high in _CJK)
