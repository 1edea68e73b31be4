"""Plain text's title: a short first line, past reStructuredText's furniture."""

from __future__ import annotations

import re

from retrieval.sentences import ENDS_SENTENCE, LIST_LINE_CHARS

_TITLE_LINE = re.compile(r"^[^\n]{1,150}$")
# Lines of reST furniture (comments, an overline) passed over before a plain text's title.
_TITLE_PREAMBLE_LINES = 3
# A title's over- or underline: one punctuation character, repeated (reST and Setext headings).
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}$")


def plain_text(text: str) -> tuple[str, str | None]:
    """A short first line with no closing punctuation, followed by more text, is the title.

    Above prose it leaves the text, as a headline does. Above a short line that does not
    end a sentence it stays: it may be the first of a pasted list of rules ("No spam", "Be
    kind"), which must stay quotable. reStructuredText's furniture around it is dropped: an
    overline of one repeated symbol ("=====") and comments (".. SPDX-License-Identifier:
    ...") before it, an underline below it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    rest = text.strip()
    for _ in range(_TITLE_PREAMBLE_LINES):
        line, _, after = rest.partition("\n")
        if not (_ADORNMENT.match(line.strip()) or line.startswith(".. ")):
            break
        rest = after.strip()
    first, sep, rest = rest.partition("\n")
    first = first.strip()
    if sep and rest.strip() and _TITLE_LINE.match(first) and not ENDS_SENTENCE.search(first):
        following, below, after = rest.strip().partition("\n")
        if _ADORNMENT.match(following.strip()) and below:
            return after, first
        if _is_list_line(following.strip()):
            return f"{first}\n\n{rest.lstrip()}", first
        return rest, first
    return text, None


def _is_list_line(line: str) -> bool:
    # An item of a list of short lines, not wrapped prose.
    return len(line) <= LIST_LINE_CHARS and not ENDS_SENTENCE.search(line)
