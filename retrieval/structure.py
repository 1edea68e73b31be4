"""Lead-in lines: headings and FAQ question lines, which introduce answers but are none."""

from __future__ import annotations

import re

from retrieval.index import SentenceIndex
from retrieval.sentences import MAX_SENTENCE_CHARS
from retrieval.types import Sentence

# "Q: ...", "Question 3. ...": an FAQ's question line.
_QUESTION_LABEL = re.compile(r"(?:q|question)\s*\d*\s*[:.)]\s", re.IGNORECASE)
# Ends with a question mark, perhaps inside closing quotes or brackets.
_QUESTION_END = re.compile(r"\?[\"'”’)\]]*$")
# A heading has no closing punctuation: "4. Appeals", "Installation", "--keep-index".
_CLOSED = tuple(".!;\"'”’)]")
# Longer than this many words, an unpunctuated line is a sentence someone forgot to end.
_HEADING_WORDS = 10
# How far above a sentence its lead-in may be (an FAQ answer runs a few sentences).
SECTION_REACH = 4
# How far up a list of short items its opening heading is looked for.
LIST_REACH = 30
# Documents whose title comes from markup (<title>, "# Title", a PDF's metadata).
_MARKUP_KINDS = frozenset({"html", "markdown", "pdf"})


def is_question(text: str) -> bool:
    """Whether the sentence asks: an FAQ's question line, or any sentence ending with "?"."""
    stripped = text.strip()
    return bool(_QUESTION_LABEL.match(stripped) or _QUESTION_END.search(stripped))


def is_label(text: str) -> bool:
    """Whether the sentence has no word at all: a number ("5.1."), a rule ("***")."""
    return not any(character.isalpha() for character in text)


def answers_nothing(text: str) -> bool:
    """Whether the sentence can never be an answer itself: a question, or a bare label.

    A text longer than a sentence is split into (stored before sentences were capped) is
    neither, and is not copied to find out.
    """
    return len(text) <= MAX_SENTENCE_CHARS and (is_question(text) or is_label(text))


def is_lead_in(text: str) -> bool:
    """Whether the sentence introduces what follows: a question line, a heading, a term."""
    if len(text) > MAX_SENTENCE_CHARS:
        return False
    stripped = text.strip()
    if answers_nothing(stripped):
        return True
    if stripped.endswith(":"):
        return len(stripped.split()) <= 2 * _HEADING_WORDS
    return len(stripped.split()) <= _HEADING_WORDS and not stripped.endswith(_CLOSED)


def heads_sections(index: SentenceIndex, sentence: Sentence) -> bool:
    """Whether the sentence is its document's title line, above the document's first section.

    "GIT-STASH" atop a manual page, above its "NAME": the citation names the document
    already, and the title alone answers nothing. Otherwise a lead-in followed at once by
    another is content (an item of a list of short rules). Plain text's title is only a short
    first line, which may be the first rule of a pasted list: there it counts only above a
    lead-in with sentences of its own ("XZ Utils FAQ" above "Q: ...?" and its answer).
    """
    if not is_lead_in(sentence.text) or not is_own_title(sentence):
        return False
    _before, after = index.neighbours(sentence)
    if after is None or not is_lead_in(after.text):
        return False
    return sentence.document.kind in _MARKUP_KINDS or bool(body_after(index, after, 1))


def is_own_title(sentence: Sentence) -> bool:
    """Whether the sentence says its document's title again (case and spacing aside).

    A text longer than a sentence (stored before sentences were capped) is not copied to
    compare: no title is that long.
    """
    text, title = sentence.text, sentence.document.title
    if len(text) > MAX_SENTENCE_CHARS:
        return False
    return " ".join(text.split()).casefold() == " ".join(title.split()).casefold()


def section_of(index: SentenceIndex, sentence: Sentence) -> Sentence | None:
    """The lead-in the sentence sits under: the nearest one above it, a few sentences up.

    A lead-in kept as content (an item of a list of short rules) sits under the heading
    that opens its list, the first of the lead-ins in a row above it, not its neighbour.
    """
    if is_lead_in(sentence.text):
        heading = None
        before, _after = index.neighbours(sentence)
        for _ in range(LIST_REACH):
            if before is None or not is_lead_in(before.text):
                break
            heading = before
            before, _after = index.neighbours(before)
        return heading
    current = sentence
    for _ in range(SECTION_REACH):
        before, _after = index.neighbours(current)
        if before is None:
            return None
        if is_lead_in(before.text):
            return before
        current = before
    return None


def body_after(index: SentenceIndex, lead_in: Sentence, count: int) -> list[Sentence]:
    """Up to `count` sentences under a lead-in; none when another lead-in follows at once.

    A lead-in followed by another (a list of short rules, a heading above a subheading) is
    itself content: it is answered with, not passed on.
    """
    found: list[Sentence] = []
    current = lead_in
    while len(found) < count:
        _before, after = index.neighbours(current)
        if after is None or is_lead_in(after.text):
            break
        found.append(after)
        current = after
    return found
