"""Reply text: quotes with bold matches, citations, escaping, and Discord's length limit."""

from __future__ import annotations

import re
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord.render import (
    MESSAGE_LIMIT,
    NOT_FOUND,
    NOT_SURE,
    escape,
    fit_lines,
    link,
    render_answer,
)
from retrieval import Analyzer, Answer, DocumentRef, Hit, Sentence
from retrieval.answer import Outcome

ANALYZER = Analyzer()
_ESCAPED = re.compile(r"\\([^0-9A-Za-z\s])")


def unescape(text: str) -> str:
    """What Discord shows for escaped text: a backslash before punctuation disappears."""
    return _ESCAPED.sub(r"\1", text)


def shown_text(markdown: str) -> str:
    """The characters Discord displays for our quote markup: escapes resolved, bold dropped."""
    out, index = [], 0
    while index < len(markdown):
        if markdown[index] == "\\" and index + 1 < len(markdown):
            out.append(markdown[index + 1])
            index += 2
        elif markdown.startswith("**", index):
            index += 2
        else:
            out.append(markdown[index])
            index += 1
    return "".join(out)


def answer_for(question: str, texts: list[str], title: str = "Doc", source: str = "") -> Answer:
    document = DocumentRef(1, title, source)
    hits = tuple(
        Hit(Sentence(n, document, n, text), score=1.0, confidence=1.0)
        for n, text in enumerate(texts, 1)
    )
    return Answer(question, tuple(ANALYZER.analyze(question)), hits, 1.0, Outcome.ANSWERED)


def test_escape_leaves_nothing_for_markdown_or_mentions():
    hostile = "# Head *b* _i_ `c` ~~s~~ ||x|| > q [l](http://e.x) <@&1> <@2> @everyone -# 1. a"
    escaped = escape(hostile)
    assert unescape(escaped) == hostile
    for special in "*_`~|<>[]()#@":
        assert not re.search(rf"(?<!\\){re.escape(special)}", escaped), special
    assert escape("12. item") == "12\\. item"
    assert escape("a\n\n# b\tc") == "a \\# b c"


def test_matched_words_are_bold_and_runs_merge():
    answer = answer_for(
        "special operations forces", ["Sending 50 Special Operations forces to Syria."]
    )
    text = render_answer(answer, ANALYZER)
    assert text.splitlines()[0] == "> Sending 50 **Special Operations forces** to Syria."


def test_citations_name_title_sentence_and_source():
    url = "https://example.com/a_(b) c.html"
    text = render_answer(
        answer_for("widgets", ["Widgets are blue."], "Widget *Guide*", url), ANALYZER
    )
    assert text.splitlines()[1] == (
        "-# [1] *Widget \\*Guide\\** — sentence 1 · [source](https://example.com/a_%28b%29%20c.html)"
    )
    jump = "https://discord.com/channels/1/2/3"
    text = render_answer(answer_for("widgets", ["Widgets are blue."], source=jump), ANALYZER)
    assert text.endswith(f"[source message]({jump})")
    text = render_answer(
        answer_for("widgets", ["Widgets are blue."], source="seeds/a_b.txt"), ANALYZER
    )
    assert text.endswith("· seeds/a\\_b.txt")
    assert link("javascript:alert(1)", "x") == "javascript\\:alert\\(1\\)"


def test_not_found_is_one_short_line():
    assert render_answer(Answer("q", ("q",)), ANALYZER) == NOT_FOUND


def test_short_answers_are_quoted_whole():
    texts = ["Widgets are blue.", "Widgets hum at noon.", "Widgets cost ten dollars."]
    text = render_answer(answer_for("widgets", texts), ANALYZER)
    assert [line for line in text.splitlines() if line.startswith(">")] == [
        "> **Widgets** are blue.",
        "> **Widgets** hum at noon.",
        "> **Widgets** cost ten dollars.",
    ]


def test_long_sentences_are_excerpted_around_the_match_within_the_limit():
    before = "filler words " * 2000
    texts = [f"{before}the widget budget grows here {before}", "Short widget budget note."]
    text = render_answer(
        answer_for("widget budget", texts, "T" * 300, "https://e.x/" + "p" * 400), ANALYZER
    )
    assert len(text) <= MESSAGE_LIMIT
    first = text.splitlines()[0]
    assert first.startswith("> …") and first.endswith("…")
    assert "**widget budget**" in first
    assert "> Short **widget budget** note." in text  # short quotes are kept whole


def test_a_sentence_of_megabytes_costs_no_more_than_what_is_shown():
    # Stored before sentences were capped at splitting: five megabytes with no full stop.
    filler = "filler words " * 400_000
    texts = [f"{filler[:20_000]}the widget budget grows here {filler}"]
    tracemalloc.start()
    try:
        text = render_answer(answer_for("widget budget", texts), ANALYZER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Any pass over the whole sentence (a copy, its words, its rendering) would take megabytes.
    assert peak < 500_000, peak
    assert len(text) <= MESSAGE_LIMIT
    first = text.splitlines()[0]
    assert first.startswith("> …") and first.endswith("…")
    assert "**widget budget**" in first
    # A matched word too deep in a huge sentence is not sought: its opening is quoted.
    deep = render_answer(answer_for("widget", [f"Opening words {filler}widget"]), ANALYZER)
    assert deep.startswith("> Opening words filler") and "…\n-# [1]" in deep


def test_a_single_word_longer_than_a_message_is_cut():
    text = render_answer(answer_for("widget", ["widget" + "x" * 50_000]), ANALYZER)
    assert len(text) <= MESSAGE_LIMIT


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(st.text(min_size=1, max_size=6000), min_size=1, max_size=5),
    title=st.text(max_size=250),
    source=st.sampled_from(["", "seeds/x.txt", "https://example.com/" + "q" * 600]),
    header=st.sampled_from(["", "-# Asked in https://discord.com/channels/1/2/3"]),
)
def test_any_answer_fits_one_message(texts, title, source, header):
    answer = answer_for(" ".join(texts)[:200], texts, title, source)
    text = render_answer(answer, ANALYZER, header=header)
    assert 0 < len(text) <= MESSAGE_LIMIT
    documents = [" ".join(t.split()) for t in texts]
    for line in text.splitlines():
        if line.startswith("> "):
            # Whatever the text, a quote shows only the document's own words, in order.
            shown = shown_text(line[2:]).removeprefix("…").removesuffix("…")
            assert any(shown in document for document in documents), line


def test_fit_lines_notes_what_was_left_out():
    lines = [f"line {n} " + "x" * 90 for n in range(100)]
    text = fit_lines(lines, 1000)
    assert len(text) <= 1000
    assert re.search(r"… and \d+ more$", text)
    assert fit_lines(["a", "b"]) == "a\nb"


def test_not_sure_shows_the_closest_passages_under_a_line_saying_so():
    document = DocumentRef(1, "FAQ", "")
    heading = Sentence(1, document, 1, "Can I run it on Windows?")
    sentence = Sentence(2, document, 2, "The installer works on Windows 10.")
    hit = Hit(sentence, 1.0, 0.4, section=heading)
    answer = Answer("does it run on windows", ("run", "window"), (), 0.4, Outcome.NOT_SURE, (hit,))
    text = render_answer(answer, ANALYZER)
    assert text.startswith(NOT_SURE + "\n")
    assert "The installer works on" in shown_text(text)
    # The FAQ question it sits under is its context, in the citation.
    assert "*FAQ* › Can I run it on Windows?" in text.replace("\\", "")
