"""Split text into sentences with NLTK's Punkt, using our own parameters and no downloaded data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

# Punkt normally learns these from a trained model that nltk.download() would fetch. We cannot
# download at run time, and a fixed list makes splitting deterministic everywhere.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft rev gen col lt sgt capt cmdr maj adm gov sen rep pres hon
    messrs mmes msgr fr supt insp det atty
    u.s u.k u.n e.u u.s.a u.s.s.r d.c a.m p.m e.g i.e etc vs v al cf ca approx est
    no nos vol vols pp p ch chap sec fig figs eq eqs ed eds op cit ibid
    inc ltd co corp bros assn dept univ inst natl intl govt
    jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    ave blvd rd hwy
    b.a b.s m.a m.s ph.d m.d d.d.s j.d ll.b
    """.split()
)
# Words that, after an abbreviation such as "U.S.", show a new sentence has begun.
SENTENCE_STARTERS = frozenset(
    """
    the a an this that these those it its he she they we i you there here his her their our
    in on at for but and or so yet if when while after before however although because since
    what who which where why how as to by from with of one some many most all no not
    """.split()
)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•‣◦▪–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
_ENDS_SENTENCE = re.compile(r"[.!?:;,…]['\"”’)\]]*\s*$")
_HAS_WORD = re.compile(r"\w")


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    params.sent_starters = set(SENTENCE_STARTERS)
    return PunktSentenceTokenizer(params)


def split_sentences(text: str) -> list[str]:
    """Sentences of the text, in order, each with its whitespace collapsed to single spaces."""
    tokenizer = _tokenizer()
    sentences: list[str] = []
    for block in _blocks(text):
        for start, end in tokenizer.span_tokenize(block):
            sentence = " ".join(block[start:end].split())
            if _HAS_WORD.search(sentence):
                sentences.append(sentence)
    return sentences


def _blocks(text: str) -> Iterator[str]:
    """Paragraphs, headings and list items: units no sentence may cross."""
    for paragraph in _PARAGRAPH_BREAK.split(text):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        if not lines:
            continue
        longest = max(len(line.strip()) for line in lines)
        current: list[str] = []
        for number, line in enumerate(lines):
            if _LIST_ITEM.match(line) and current:
                yield "\n".join(current)
                current = []
            current.append(line)
            if _is_heading(line, number, len(lines), longest):
                yield "\n".join(current)
                current = []
        if current:
            yield "\n".join(current)


def _is_heading(line: str, number: int, line_count: int, longest: int) -> bool:
    """A short first line with no closing punctuation, above longer lines, is a heading."""
    stripped = line.strip()
    return (
        number == 0
        and line_count > 1
        and len(stripped) <= 120
        and len(stripped) < 0.8 * longest
        and not _ENDS_SENTENCE.search(stripped)
    )
