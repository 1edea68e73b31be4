"""Plain text's title: a short first line, past reStructuredText's furniture."""

from __future__ import annotations

import re

_TITLE_LINE = re.compile(r"^[^\n]{1,150}$")
# Lines of reST furniture (comments, an overline) passed over before a plain text's title.
_TITLE_PREAMBLE_LINES = 3
# A title's over- or underline: one punctuation character, repeated (reST and Setext headings).
_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}$")
_SENTENCE_END = re.compile(r"[.!?:;,]['\"”’)\]]*$")


def plain_text(text: str) -> tuple[str, str | None]:
    """A short first line with no closing punctuation, followed by more text, is the title.

    reStructuredText's furniture before it is passed over: an overline of one repeated
    symbol ("=====") and comments (".. SPDX-License-Identifier: ..."); an underline below it
    goes with it.
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
    if sep and rest.strip() and _TITLE_LINE.match(first) and not _SENTENCE_END.search(first):
        underline, below, after = rest.strip().partition("\n")
        if _ADORNMENT.match(underline.strip()) and below:
            rest = after
        return rest, first
    return text, None
