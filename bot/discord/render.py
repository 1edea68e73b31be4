"""Reply text for Discord: quoted sentences with matched words in bold, each with its citation.

Everything here is plain string work (no I/O). Document text is escaped so that a document can
neither format nor break the reply, and every reply fits Discord's 2000-character limit however
long its sentences are. Replies are sent with `NO_MENTIONS`, so nothing in them can ping anyone
(the one exception, the support role's hand-off, is bot/discord/handoff.py's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import discord

from retrieval import Analyzer, Answer, Hit

MESSAGE_LIMIT = 2000
NO_MENTIONS = discord.AllowedMentions.none()
NOT_FOUND = "The documents do not cover that."
NOT_SURE = "Not sure these answer it; the closest passages in the documents:"
ELLIPSIS = "…"
# A quote shorter than this says too little to be worth showing; drop a citation instead.
_MIN_QUOTE = 160
_MAX_TITLE = 100
_MAX_LINK = 512
# How far into a long sentence (in reply lengths) its first matched word is sought.
_SOUGHT = 16
# Every character Discord's markdown gives a meaning to, inline or at the start of a line.
# Discord hides a backslash before punctuation, so escaping all of them is invisible.
_MARKDOWN = re.compile(r"([\\*_`~|<>\[\]()#@:\-])")
_NUMBERED_ITEM = re.compile(r"^(\d+)\.")
_SPACE = re.compile(r"\s+")


def escape(text: str) -> str:
    """Text shown literally: whitespace collapsed to single spaces, all markdown escaped."""
    text = _MARKDOWN.sub(r"\\\1", _SPACE.sub(" ", text))
    # "1. item" at the start of a line would become a list.
    return _NUMBERED_ITEM.sub(r"\1\\.", text)


def link(url: str, label: str) -> str:
    """A masked link to an http(s) URL, or the escaped URL text when it cannot be a link."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > _MAX_LINK:
        return escape(url[:_MAX_LINK])
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%~.-_")
    return f"[{escape(label)}]({safe_url})"


def shorten(text: str, limit: int) -> str:
    """Text cut to at most `limit` characters, marked with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def fit_lines(
    lines: Sequence[str],
    limit: int = MESSAGE_LIMIT,
    more: str = "… and {n} more",
    hidden: int = 0,
) -> str:
    """As many whole lines as fit in `limit` characters, then a note of how many were left out.

    `hidden` counts further lines the caller left out before even passing them.
    """
    total = len(lines) + hidden
    kept: list[str] = []
    used = -1  # no newline before the first line
    for line in lines:
        line = line[:limit]
        left_after = total - len(kept) - 1
        note_room = len(more.format(n=left_after)) + 1 if left_after else 0
        if used + 1 + len(line) + note_room > limit:
            break
        kept.append(line)
        used += 1 + len(line)
    left = total - len(kept)
    if left:
        note = more.format(n=left)
        while kept and used + 1 + len(note) > limit:
            used -= len(kept.pop()) + 1
            left += 1
            note = more.format(n=left)
        kept.append(note)
    return "\n".join(kept)


@dataclass(frozen=True, slots=True)
class _Quote:
    """A sentence ready to quote: whitespace-normalised text and the spans to bold.

    A long sentence is quoted from an excerpt (see _excerpt): `more_before` and `more_after`
    say that the sentence goes on before and after the text here.
    """

    text: str
    spans: tuple[tuple[int, int], ...]
    more_before: bool = False
    more_after: bool = False


def matched_spans(text: str, terms: Iterable[str], analyzer: Analyzer) -> list[tuple[int, int]]:
    """Character spans of the words in `text` whose index terms are among `terms`."""
    wanted = set(terms)
    spans: list[tuple[int, int]] = []
    for start, end, term in analyzer.term_spans(text):
        if term not in wanted:
            continue
        # Neighbouring matches separated only by spaces become one bold run.
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _prepare(hit: Hit, terms: Sequence[str], analyzer: Analyzer, limit: int) -> _Quote:
    if len(hit.sentence.text) > 2 * limit:
        return _excerpt(hit.sentence.text, terms, analyzer, limit)
    text = " ".join(hit.sentence.text.split())
    return _Quote(text, tuple(matched_spans(text, terms, analyzer)))


def _excerpt(text: str, terms: Sequence[str], analyzer: Analyzer, limit: int) -> _Quote:
    """Twice a reply's length of a long sentence, around its first matched word.

    Sentences are cut at 1,000 characters when split (retrieval.sentences), but one stored
    before that can be megabytes, and sizing and highlighting all of it took seconds a
    question. So the work here never grows with the sentence: the matched word is sought in
    its first _SOUGHT reply lengths only (past them, the quote is the sentence's opening).
    """
    wanted = set(terms)
    # term_spans is lazy: the search stops at the first matched word.
    spans = analyzer.term_spans(text[: _SOUGHT * limit])
    anchor = next((start for start, _, term in spans if term in wanted), 0)
    start = max(0, anchor - limit)
    end = min(len(text), start + 2 * limit)
    # On word edges where there are some, never cutting the matched word.
    if start > 0:
        space = text.find(" ", start, anchor)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", anchor + 1, end)
        end = space if space != -1 else end
    excerpt = " ".join(text[start:end].split())
    matched = tuple(matched_spans(excerpt, terms, analyzer))
    return _Quote(excerpt, matched, start > 0, end < len(text))


def _render_window(quote_: _Quote, start: int, end: int) -> str:
    out: list[str] = ["> "]
    if start > 0 or quote_.more_before:
        out.append(ELLIPSIS)
    cursor = start
    for span_start, span_end in quote_.spans:
        if span_start < start or span_end > end:
            continue
        out.append(escape(quote_.text[cursor:span_start]))
        out.append("**" + escape(quote_.text[span_start:span_end]) + "**")
        cursor = span_end
    out.append(escape(quote_.text[cursor:end]))
    if end < len(quote_.text) or quote_.more_after:
        out.append(ELLIPSIS)
    return "".join(out)


def _window(quote_: _Quote, length: int) -> tuple[int, int]:
    """A window of about `length` characters around the first matched word, on word edges."""
    text = quote_.text
    if length >= len(text):
        return 0, len(text)
    anchor = quote_.spans[0][0] if quote_.spans else 0
    start = max(0, min(anchor - length // 3, len(text) - length))
    if start > 0:
        space = text.find(" ", start, anchor + 1)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + length)
    if end < len(text):
        space = text.rfind(" ", start + 1, end)
        end = space if space > start else end
    return start, end


def render_quote(quote_: _Quote, budget: int) -> str:
    """The sentence as a block quote of at most `budget` characters, excerpted if needed."""
    whole = _render_window(quote_, 0, len(quote_.text))
    if len(whole) <= budget:
        return whole
    # Escaping and bold markers lengthen the text unevenly; search for the longest window.
    low, high, best = 1, len(quote_.text), ""
    while low <= high:
        middle = (low + high) // 2
        rendered = _render_window(quote_, *_window(quote_, middle))
        if len(rendered) <= budget:
            best, low = rendered, middle + 1
        else:
            high = middle - 1
    return best or ("> " + ELLIPSIS)[:budget]


def citation(number: int, hit: Hit) -> str:
    """`-# [1] Title › Heading — sentence 12 · source`, as a small line under the quote.

    The heading or FAQ question the sentence sits under, if any, is shown as its context
    (unless it only repeats the title).
    """
    document = hit.sentence.document
    parts = [f"-# [{number}] *{escape(shorten(document.title, _MAX_TITLE))}*"]
    if hit.context is not None:
        parts.append(f" › {escape(shorten(hit.context.text, _MAX_TITLE))}")
    parts.append(f" — sentence {hit.sentence.position}")
    if document.source:
        label = "source message" if "discord.com/channels/" in document.source else "source"
        parts.append(" · " + link(document.source, label))
    return "".join(parts)


def _share(needs: list[int], budget: int) -> list[int]:
    """Split a budget so short needs are met in full and long ones share what is left."""
    shares = [0] * len(needs)
    open_ = sorted(range(len(needs)), key=lambda i: needs[i])
    remaining = budget
    while open_:
        fair = remaining // len(open_)
        index = open_[0]
        if needs[index] <= fair:
            shares[index] = needs[index]
            remaining -= needs[index]
            open_.pop(0)
        else:
            for index in open_:
                shares[index] = fair
            break
    return shares


def render_answer(
    answer: Answer, analyzer: Analyzer, *, header: str = "", limit: int = MESSAGE_LIMIT
) -> str:
    """The reply to a question: each hit quoted with matched words bold, then its citation."""
    prefix = f"{header}\n" if header else ""
    # Not sure: the closest passages, under a line that says they may not answer.
    hits = answer.hits if answer.answered else answer.closest
    if not hits:
        return (prefix + NOT_FOUND)[:limit]
    if not answer.answered:
        prefix += NOT_SURE + "\n"
    quotes = [_prepare(hit, answer.terms, analyzer, limit) for hit in hits]
    for count in range(len(hits), 0, -1):
        citations = [citation(number, hit) for number, hit in enumerate(hits[:count], 1)]
        fixed = len(prefix) + sum(len(c) for c in citations) + 2 * count - 1
        budget = limit - fixed
        if count > 1 and budget // count < _MIN_QUOTE:
            continue
        needs = [len(_render_window(q, 0, len(q.text))) for q in quotes[:count]]
        shares = _share(needs, max(budget, 0))
        blocks = [
            f"{render_quote(quote_, share)}\n{cite}"
            for quote_, share, cite in zip(quotes[:count], shares, citations, strict=True)
        ]
        text = prefix + "\n".join(blocks)
        if len(text) <= limit:
            return text
    return (prefix + NOT_FOUND)[:limit]
