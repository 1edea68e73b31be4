"""Whatever a document says (mentions, markdown, code fences, masked links, huge sentences),
its quoted reply fits one message, keeps its layout, pings nobody and quotes it verbatim."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.discord.render import ELLIPSIS, MESSAGE_LIMIT, render_answer
from retrieval import Analyzer, Answer, DocumentRef, Hit, Sentence
from retrieval.answer import Outcome
from tests.bot.discord.test_render import shown_text
from tests.robustness.conftest import BOUNDED

ANALYZER = Analyzer()
HOSTILE = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@123456789012345678>",
        "<@&42>",
        "<#1>",
        "<t:0:R>",
        "[click](https://evil.example)",
        "```",
        "`",
        "**",
        "__",
        "~~",
        "||",
        "# ",
        "-# ",
        "> ",
        "1. ",
        "- ",
        "\n",
        "\u2028",
        "\r",
        "\\",
        "https://x.example/a_b*c",
        "widget",
        "budget",
        "committee",
        "😀",
        "\u202e",
        "ok.",
    ]
)
TEXT = st.lists(HOSTILE | st.text(max_size=8), min_size=1, max_size=30).map("".join)
LONG = st.builds(
    lambda word, n: (word + " ") * n, st.sampled_from(["widget", "@here"]), st.integers(1, 900)
)
SOURCES = st.sampled_from(
    [
        "",
        "seeds/a.txt",
        "https://example.com/a_(b).html",
        "https://x.example/)[pwn](https://y",
        "javascript:alert(1)",
        "https://discord.com/channels/1/2/3",
        "https://" + "a" * 600,
        "https://example.com/@everyone",
        "ftp://example.com/x",
    ]
)


def bare(text: str, char: str) -> bool:
    """Whether `char` occurs without a backslash before it."""
    return re.search(rf"(?<!\\){re.escape(char)}", text) is not None


@BOUNDED
@given(
    sentences=st.lists(TEXT | LONG, min_size=1, max_size=4),
    titles=st.lists(TEXT, min_size=4, max_size=4),
    sources=st.lists(SOURCES, min_size=4, max_size=4),
    question=st.sampled_from(["widget budget committee?", "@here everyone?", "who?"]),
)
def test_a_reply_fits_keeps_its_layout_and_quotes_verbatim(sentences, titles, sources, question):
    hits = []
    for number, text in enumerate(sentences):
        if not text.split():
            continue
        document = DocumentRef(number + 1, titles[number] or "t", sources[number])
        sentence = Sentence(number + 10, document, number + 1, text)
        hits.append(Hit(sentence, 1.0, 1.0))
    if not hits:
        return
    answer = Answer(question, tuple(ANALYZER.analyze(question)), tuple(hits), 1.0, Outcome.ANSWERED)
    reply = render_answer(answer, ANALYZER)

    assert len(reply) <= MESSAGE_LIMIT
    lines = reply.split("\n")
    if lines == ["The documents do not cover that."]:
        return
    # Layout: a quote line and a citation line per hit shown; no document adds a line.
    assert len(lines) % 2 == 0 and len(lines) // 2 <= len(hits)
    for number, (quote, cite) in enumerate(zip(lines[::2], lines[1::2], strict=True)):
        assert quote.startswith("> ") and cite.startswith(f"-# [{number + 1}] *")
        # No mention, code span, spoiler, strike or heading can come from the document.
        for part in (quote[2:], cite[3:]):  # past our own "> " and "-# " markers
            outside_links = re.sub(r"\]\(https?://[^)\s]*\)", "]", part)
            for char in "@<`|~#":
                assert not bare(outside_links, char), (char, part)
        # The quote is the sentence (or a window of it), verbatim once escapes are read.
        original = " ".join(hits[number].sentence.text.split())
        shown = shown_text(quote[2:])
        assert shown in original or shown.strip(ELLIPSIS) in original, (shown, original)
