"""Property tests: any text or bytes go through extraction, splitting, analysis and asking
without raising anything but our one typed error, and every answer is a stored sentence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import RetrievalSettings
from bot.engine.library import Library
from bot.errors import InvalidQuestionError, VerbatimError
from bot.store import GLOBAL_SCOPE, Store, open_store
from retrieval.analyzer import Analyzer
from retrieval.errors import ExtractionError
from retrieval.extract import extract_text
from retrieval.extract.limits import MAX_TEXT_CHARS
from retrieval.sentences import split_sentences
from tests.conftest import SEEDS
from tests.robustness.conftest import BOUNDED

# Every code point, lone surrogates included (JSON "\ud800" escapes reach us as those).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
MARKUP = st.sampled_from(
    [
        "<div>",
        "</div>",
        "<p>",
        "<script>",
        "</script>",
        "<style>",
        "<!--",
        "-->",
        "<svg/>",
        "<title>",
        "<br/>",
        "&amp;",
        "&#0;",
        "&#x110000;",
        "**",
        "_",
        "[",
        "](",
        ")",
        "`",
        "```",
        "\n",
        "\n\n",
        "\r\n",
        "# ",
        "> ",
        "- ",
        "1. ",
        "|a|b|\n|-|-|",
        "@everyone",
        "<@123>",
        "Hello world.",
        "U.S. Army.",
        "Mr. Smith said so.",
        "22,000",
        "\x00",
        "\u202e",
        "\ufeff",
        "😀",
        "e\u0301",
        "ﬁ",
        "\t",
    ]
)
MARKED_UP_TEXT = st.lists(MARKUP | st.text(ANY_CHARACTER, max_size=12), max_size=40).map("".join)
FILENAMES = st.sampled_from(
    [None, "a.txt", "a.md", "a.html", "a.pdf", "a.exe", "noext", "../../etc/passwd.txt", ".md"]
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "text/plain",
        "text/html; charset=latin-1",
        "text/html; charset=rot13",
        "text/plain; charset=utf-16",
        "application/pdf",
        "image/png",
        "text/markdown",
    ]
)


def _check_extraction(data: bytes, filename: str | None, content_type: str | None) -> None:
    try:
        result = extract_text(data, filename=filename, content_type=content_type)
    except ExtractionError as error:
        assert str(error).strip()
    else:
        assert result.text.strip()
        assert len(result.text) <= MAX_TEXT_CHARS
        # Stored text must be encodable: no lone surrogates, no NULs.
        result.text.encode("utf-8")
        assert "\x00" not in result.text


@BOUNDED
@given(data=st.binary(max_size=2048), filename=FILENAMES, content_type=CONTENT_TYPES)
def test_arbitrary_bytes_extract_or_raise_extraction_error(data, filename, content_type):
    _check_extraction(data, filename, content_type)


@BOUNDED
@given(
    text=MARKED_UP_TEXT,
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-16-le", "latin-1"]),
    filename=FILENAMES,
    content_type=CONTENT_TYPES,
)
def test_marked_up_text_extracts_or_raises_extraction_error(text, encoding, filename, content_type):
    data = text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    _check_extraction(data, filename, content_type)


@BOUNDED
@given(text=MARKED_UP_TEXT | st.text(ANY_CHARACTER, max_size=400))
def test_splitting_is_total_deterministic_and_verbatim(text):
    sentences = split_sentences(text)
    assert sentences == split_sentences(text)
    flat = " ".join(text.split())
    for sentence in sentences:
        assert sentence == " ".join(sentence.split())
        assert sentence in flat


@BOUNDED
@given(text=MARKED_UP_TEXT | st.text(ANY_CHARACTER, max_size=400))
def test_analyzer_is_total_and_its_spans_point_into_the_text(text):
    analyzer = Analyzer()
    terms = analyzer.analyze(text)
    assert terms == analyzer.analyze(text)
    spans = list(analyzer.term_spans(text))
    assert [term for _, _, term in spans] == terms
    for start, end, term in spans:
        assert 0 <= start < end <= len(text)
        assert term and isinstance(term, str)


# -- asking through the Library on a real SQLite file ------------------------------------------

SCOPE_A, SCOPE_B, SCOPE_EMPTY = 101, 202, 303
DOCUMENT_A = (
    "The harbour ferry leaves at 7 a.m. every weekday. Tickets for the ferry cost 4 dollars. "
    "Mr. Olsen runs the ferry office near the pier."
)
DOCUMENT_B = (
    "The mountain railway leaves at 9 a.m. on Sundays. Tickets for the railway cost 12 dollars. "
    "The ferry is not run by the railway company."
)


class LibraryRunner:
    """One event loop and one opened Library for a module's worth of hypothesis examples."""

    def __init__(self, path) -> None:
        self.runner = asyncio.Runner()
        self._store_cm = open_store(path)
        self.store: Store = self.run(self._store_cm.__aenter__())
        self.library = Library(self.store, RetrievalSettings())
        self.run(self.library.seed(SEEDS))
        self.run(self.library.documents.add(SCOPE_A, DOCUMENT_A.encode(), filename="a.txt"))
        self.run(self.library.documents.add(SCOPE_B, DOCUMENT_B.encode(), filename="b.txt"))
        self.run(self.library.load())
        # Every stored sentence by id, with its scope: the ground truth answers are checked against.
        self.sentences: dict[int, tuple[str, int]] = {}
        for scope in (GLOBAL_SCOPE, SCOPE_A, SCOPE_B):
            for document in self.run(self.store.list_documents(scope)):
                for row in self.run(self.store.document_sentences(document.id)):
                    self.sentences[row.id] = (row.text, scope)

    def run(self, coroutine):
        return self.runner.run(coroutine)

    def close(self) -> None:
        self.run(self.library.settle())
        self.run(self._store_cm.__aexit__(None, None, None))
        self.runner.close()


@pytest.fixture(scope="module")
def asking(tmp_path_factory) -> Iterator[LibraryRunner]:
    runner = LibraryRunner(tmp_path_factory.mktemp("asking") / "verbatim.db")
    yield runner
    runner.close()


def _check_answer(asking: LibraryRunner, question: str, scope: int) -> bool:
    """Ask; True if answered. Every cited sentence is stored verbatim in this scope or global."""
    try:
        result = asking.run(asking.library.ask(question, scope=scope, via="test", user_id="7"))
    except InvalidQuestionError as error:
        assert error.message.strip()
        cleaned = question.encode("utf-8", "replace").decode().strip()
        assert not cleaned or len(cleaned) > asking.library.settings.max_question_chars
        return False
    for hit in result.answer.hits:
        text, stored_scope = asking.sentences[hit.sentence.id]
        assert hit.sentence.text == text
        assert stored_scope in (scope, GLOBAL_SCOPE)
        for neighbour in (hit.before, hit.after):
            if neighbour is not None:
                assert asking.sentences[neighbour.id][0] == neighbour.text
                assert neighbour.document.id == hit.sentence.document.id
    logged = asking.run(asking.store.get_interaction(result.interaction_id))
    assert logged is not None and logged.scope == scope
    assert [a.sentence_id for a in logged.answers] == [h.sentence.id for h in result.answer.hits]
    return result.answer.answered


@BOUNDED
@given(
    question=MARKED_UP_TEXT | st.text(ANY_CHARACTER, max_size=300),
    scope=st.sampled_from([GLOBAL_SCOPE, SCOPE_A, SCOPE_B, SCOPE_EMPTY]),
)
def test_any_question_gets_stored_sentences_of_its_scope_or_a_clear_refusal(
    asking, question, scope
):
    _check_answer(asking, question, scope)


@BOUNDED
@given(
    words=st.lists(
        st.sampled_from(
            "ferry railway tickets cost leaves dollars sundays weekday pier olsen company "
            "special operations forces coalition isis carter the when how much".split()
        ),
        min_size=1,
        max_size=6,
    ),
    scope=st.sampled_from([SCOPE_A, SCOPE_B, SCOPE_EMPTY]),
)
def test_answers_never_mix_scopes(asking, words, scope):
    _check_answer(asking, " ".join(words) + "?", scope)


def test_each_scope_answers_from_its_own_document(asking):
    assert _check_answer(asking, "How much do ferry tickets cost?", SCOPE_A)
    result = asking.run(
        asking.library.ask("How much do ferry tickets cost?", scope=SCOPE_A, via="t")
    )
    assert "4 dollars" in result.answer.hits[0].sentence.text
    result = asking.run(
        asking.library.ask("How much do railway tickets cost?", scope=SCOPE_B, via="t")
    )
    assert "12 dollars" in result.answer.hits[0].sentence.text
    result = asking.run(
        asking.library.ask("How much do ferry tickets cost?", scope=SCOPE_EMPTY, via="t")
    )
    assert all(asking.sentences[h.sentence.id][1] == GLOBAL_SCOPE for h in result.answer.hits)


HOSTILE_QUESTIONS = {
    "emoji only": "😀🔥🎉" * 20,
    "control characters": "\x00\x01\x02\x1b[31mred\x07\x7f?",
    "sql": "'; DROP TABLE documents; -- how many forces?",
    "sql union": "1' UNION SELECT key, value FROM meta --",
    "markdown": "**how many** `forces`? [click](https://evil.example) ||spoiler|| ```py\nx```",
    "mentions": "@everyone @here <@123> <@&456> how many forces?",
    "lone surrogate": "how many forces \ud800?",
    "right-to-left override": "\u202ehow many forces?",
    "zalgo": "h̸̢̛o̵w̶ ̷m̴a̸n̶y̵" * 10,
    "whitespace only": " \n\t\u00a0\u2003 ",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_QUESTIONS))
def test_hostile_questions_get_a_normal_reply_or_a_clear_refusal(asking, name):
    _check_answer(asking, HOSTILE_QUESTIONS[name], SCOPE_A)
    # Nothing an asker types reaches SQL as code: the tables are all still there.
    assert asking.run(asking.store.count_documents(SCOPE_A)) == 1


def test_a_100_kb_question_is_refused_with_the_limit(asking):
    question = "how many forces? " * 6_000
    assert len(question.encode()) > 100_000
    with pytest.raises(InvalidQuestionError, match="limit is 2,000"):
        asking.run(asking.library.ask(question, scope=SCOPE_A, via="test"))


def test_a_100_kb_question_is_answered_when_the_limit_allows_it(asking):
    roomy = Library(
        asking.store,
        replace(RetrievalSettings(), max_question_chars=200_000),
        asking.library.analyzer,
    )
    asking.run(roomy.load())
    result = asking.run(roomy.ask("how many Special Operations forces? " * 3_000, scope=0, via="t"))
    for hit in result.answer.hits:
        assert asking.sentences[hit.sentence.id][0] == hit.sentence.text
    asking.run(roomy.settle())


def test_every_refusal_is_a_verbatim_error():
    assert issubclass(InvalidQuestionError, VerbatimError)
