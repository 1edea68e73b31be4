"""Headings and FAQ question lines introduce answers: they pass their match on, never answer."""

import pytest

from retrieval.analyzer import Analyzer
from retrieval.answer import Outcome, answer_question, read_question
from retrieval.index import SentenceIndex
from retrieval.reader import Reader
from retrieval.structure import body_after, heads_sections, is_lead_in, section_of
from tests.retrieval.documents import index_of as one_document

ANALYZER = Analyzer()
FAQ = [
    "Frobnicator FAQ",
    "Can I run it on Windows?",
    "Yes.",
    "The installer works on Windows 10 and later, and a portable zip is on the releases page.",
    "How do I report a bug?",
    "Open an issue on the tracker with the version number and the steps that reproduce it.",
    "Rules",
    "Be kind",
    "No spam",
    "No NSFW content",
]


def index_of(texts: list[str]) -> SentenceIndex:
    return one_document(texts, ANALYZER, "FAQ")


@pytest.mark.parametrize(
    "text",
    [
        "Q: Can I run it on Windows?",
        "Question 3. How do I report a bug",
        "Can I run it on Windows?",
        'Why is it called "xz"?"',
        "4. Appeals",
        "Installation",
        "--keep-index",
        "Options you can give on the command line:",
        "5.1.",
        "***",
    ],
)
def test_question_lines_headings_and_terms_lead_in(text):
    assert is_lead_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Yes.",
        "A: Nothing.",
        "The kettle boils water in ninety seconds.",
        "Temporary bans last seven days (longer for repeat offences)",
        "this line has no full stop but runs on for well over ten words like a sentence",
    ],
)
def test_sentences_do_not(text):
    assert not is_lead_in(text)


def test_a_sentence_sits_under_the_nearest_lead_in_above_it():
    index = index_of(FAQ)
    sentences = index.sentences
    assert section_of(index, sentences[3]).text == "Can I run it on Windows?"
    assert section_of(index, sentences[5]).text == "How do I report a bug?"
    # An item of a list of short rules sits under the heading that opens the list.
    assert section_of(index, sentences[8]).text == "Rules"
    assert section_of(index, sentences[0]) is None


def test_a_lead_in_gives_way_to_its_body_unless_another_lead_in_follows():
    index = index_of(FAQ)
    sentences = index.sentences
    assert [s.text for s in body_after(index, sentences[1], 2)] == FAQ[2:4]
    assert [s.text for s in body_after(index, sentences[4], 2)] == FAQ[5:6]
    assert body_after(index, sentences[7], 2) == []  # "Be kind", then "No spam"


def test_a_question_matching_an_faq_line_is_answered_by_what_follows_it():
    index = index_of(FAQ)
    answer = answer_question("can i run it on windows", index, ANALYZER, reader=Reader())
    shown = answer.hits or answer.closest
    assert shown, answer
    assert all(not is_lead_in(hit.sentence.text) for hit in shown if hit.section is not None)
    first = shown[0]
    assert first.sentence.text in FAQ[2:4]
    assert first.section.text == "Can I run it on Windows?"


def test_a_question_with_nothing_under_it_is_never_quoted():
    # A table of contents lists the questions; the answers come further down, each under its
    # number (valgrind's FAQ: the last entry was followed by the first answer's "5.1.").
    contents = ["Contents", "5.3.", "Can I attach it to a running program?"]
    index = index_of([*contents, "5.1.", "Use the debugger for that."])
    answer = answer_question(
        "can i attach it to a program that is running", index, ANALYZER, reader=Reader()
    )
    shown = [hit.sentence.text for hit in answer.hits + answer.closest]
    assert shown, answer
    assert not any(text.endswith("?") or text[0].isdigit() for text in shown), answer


# A manual page as HTML: its title, the contents' headings, then each section.
MANUAL_PAGE = [
    "GIT-STASH",
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "NAME",
    "git-stash - Stash the changes in a dirty working directory away.",
    "DESCRIPTION",
    "Use git stash when you want to record the current state of the working directory.",
]


def test_the_title_line_above_the_first_section_is_never_quoted():
    index = one_document(MANUAL_PAGE, ANALYZER, "git-stash", "html")
    assert heads_sections(index, index.sentences[0])
    for reader in (Reader(), None):
        answer = answer_question("git stash", index, ANALYZER, reader=reader, min_confidence=0.1)
        shown = [hit.sentence.text for hit in answer.hits + answer.closest]
        assert shown, answer
        assert "GIT-STASH" not in shown, answer


def test_a_plain_text_title_heads_sections_only_above_a_lead_in_with_a_body():
    faq = ["XZ Utils FAQ", "Q: What do the letters XZ mean?", "A: Nothing."]
    index = one_document(faq, ANALYZER, "XZ Utils FAQ")
    assert heads_sections(index, index.sentences[0])
    # A pasted list of rules titled by its first: that rule stays quotable.
    rules = ["No spam", "Be kind", "No NSFW content"]
    index = one_document(rules, ANALYZER, "No spam")
    assert not heads_sections(index, index.sentences[0])
    answer = answer_question("is spam ok", index, ANALYZER, reader=Reader())
    assert [hit.sentence.text for hit in answer.hits + answer.closest][:1] == ["No spam"]
    # Markdown's title is a heading: the line that says it again heads what follows.
    index = one_document(rules, ANALYZER, "No spam", "markdown")
    assert heads_sections(index, index.sentences[0])


def test_the_same_question_gets_the_same_answer_every_time():
    index = index_of(FAQ)
    reader = Reader()
    answers = {
        repr(answer_question("how do i report a bug?", index, ANALYZER, reader=reader))
        for _ in range(3)
    }
    assert len(answers) == 1


def test_without_a_reader_answers_come_from_the_words_alone():
    index = index_of(FAQ)
    answer = answer_question("how do i report a bug", index, ANALYZER, min_confidence=0.3)
    assert answer.outcome in (Outcome.ANSWERED, Outcome.NOT_FOUND)
    assert answer.closest == ()


def test_without_a_reader_a_question_line_passes_its_match_to_its_answer():
    # The words match the FAQ's question line, not its answer: the answer is quoted, under it,
    # with the question line's share of the words as its confidence.
    index = index_of(FAQ)
    answer = answer_question("how do i report a bug", index, ANALYZER, min_confidence=0.3)
    assert answer.answered, answer
    assert [hit.sentence.text for hit in answer.hits] == [FAQ[5]]
    assert answer.hits[0].section.text == "How do I report a bug?"
    assert answer.confidence == 1.0
    # A table of contents' entry, with nothing under it, is not quoted either.
    listed = answer_question(
        "can i attach it to a program that is running",
        index_of(["Contents", "5.3.", "Can I attach it to a running program?", "5.1.", "No."]),
        ANALYZER,
        min_confidence=0.3,
    )
    assert not any(hit.sentence.text.endswith("?") for hit in listed.hits), listed


WITH_CONTENTS = [
    "Contents",
    "3.1.",
    "Programs run fine but crash at exit with errors from the C library.",
    "3.2.",
    "How do I report a bug?",
    "3.1.",
    "Programs run fine but crash at exit with errors from the C library.",
    "Run them with the --no-cleanup option to skip the library's clean-up at exit.",
    "3.2.",
    "How do I report a bug?",
    "Open an issue on the tracker.",
    "Give the version number and the steps that reproduce it.",
]


def test_a_text_said_twice_is_read_once():
    # The table of contents repeats each entry; a repeat would take a place of its own.
    reading = read_question(
        "my program crashes at exit with c library errors",
        index_of(WITH_CONTENTS),
        ANALYZER,
        Reader(),
    )
    texts = [hit.sentence.text for hit in reading.hits]
    assert len(texts) == len(set(texts)), texts
    assert WITH_CONTENTS[7] in texts


def test_of_a_question_said_twice_the_copy_with_its_answer_is_read():
    reading = read_question("how do i report a bug", index_of(WITH_CONTENTS), ANALYZER, Reader())
    # The contents' copy ranks first but has nothing under it; the second sentence of the
    # answer is read only as the body of the copy above it.
    under = {hit.sentence.text: hit.section for hit in reading.hits}
    assert WITH_CONTENTS[11] in under, under
    assert under[WITH_CONTENTS[11]].position == 10


def test_the_first_sentence_under_an_faq_question_opens_its_answer():
    reading = read_question("can i run it on windows", index_of(FAQ), ANALYZER, Reader())
    flags = zip(reading.hits, reading.opens, strict=True)
    opens = {hit.sentence.text: bool(flag) for hit, flag in flags}
    assert opens["Yes."] is True
    assert opens[FAQ[3]] is False
