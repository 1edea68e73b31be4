"""The casual question set stays well formed, and its benchmark scores what it claims to."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bot.engine.documents import prepare_document
from retrieval.analyzer import Analyzer

ROOT = Path(__file__).resolve().parent.parent.parent
EVAL = ROOT / "benchmarks" / "casual_eval.py"
_SPEC = importlib.util.spec_from_file_location("casual_eval", EVAL)
assert _SPEC is not None and _SPEC.loader is not None
casual = importlib.util.module_from_spec(_SPEC)
sys.modules["casual_eval"] = casual
_SPEC.loader.exec_module(casual)

QUESTIONS = casual.load_questions()
DOCUMENT_NAMES = sorted(path.name for path in casual.DOCUMENTS.iterdir())


# -- the question file ----------------------------------------------------------------------------


def test_the_file_has_enough_questions_and_enough_unanswerable_ones():
    assert len(QUESTIONS) >= 80
    unanswerable = [q for q in QUESTIONS if not q.answerable]
    assert len(unanswerable) >= 0.25 * len(QUESTIONS)


def test_every_row_has_exactly_the_documented_fields_with_their_types():
    for line in casual.QUESTIONS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"id", "question", "doc", "answers", "answerable", "split"}, row
        assert isinstance(row["question"], str) and row["question"].strip(), row
        assert isinstance(row["answers"], list), row
        assert all(isinstance(answer, str) for answer in row["answers"]), row
        assert isinstance(row["answerable"], bool), row
    ids = [q.id for q in QUESTIONS]
    assert len(ids) == len(set(ids))


def test_a_question_is_answerable_exactly_when_it_has_gold_answers():
    for question in QUESTIONS:
        assert question.answerable == bool(question.answers), question.id


def test_every_question_is_about_one_of_the_documents():
    for question in QUESTIONS:
        assert question.doc in DOCUMENT_NAMES, question.id
    assert {q.doc for q in QUESTIONS} == set(DOCUMENT_NAMES)


def test_every_gold_answer_is_verbatim_text_of_its_document():
    texts = {name: casual.reference_text(casual.DOCUMENTS / name) for name in DOCUMENT_NAMES}
    for question in QUESTIONS:
        for answer in question.answers:
            assert answer in texts[question.doc], (question.id, answer)
            # A gold of one word would match any sentence that happens to use that word.
            assert len(casual.words(answer)) >= 2, (question.id, answer)


def test_the_splits_follow_the_fixed_rule_and_each_holds_every_kind_of_question():
    assert {q.id: q.split for q in QUESTIONS} == casual.assigned_splits(QUESTIONS)
    for split in casual.SPLITS:
        for name in DOCUMENT_NAMES:
            kinds = {q.answerable for q in QUESTIONS if q.split == split and q.doc == name}
            assert kinds == {True, False}, (split, name)


def test_every_answerable_question_can_be_matched_by_a_sentence_verbatim_makes():
    analyzer = Analyzer()
    sentences = {
        name: prepare_document(
            (casual.DOCUMENTS / name).read_bytes(),
            filename=name,
            content_type=None,
            title=None,
            analyzer=analyzer,
        ).sentences
        for name in DOCUMENT_NAMES
    }
    for question in QUESTIONS:
        if question.answerable:
            assert any(
                casual.matches(sentence, gold)
                for gold in question.answers
                for sentence in sentences[question.doc]
            ), question.id


def test_the_reference_text_drops_markup_but_keeps_inline_words_whole(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>T</title><style>p {}</style></head><body><h2>Use</h2>"
        "<p>Use <b>git\nstash</b> &amp; stash@{<i>n</i>}.</p><p>Next</p></body></html>",
        encoding="utf-8",
    )
    assert casual.reference_text(page) == "Use Use git stash & stash@{n}. Next"
    notes = tmp_path / "notes.md"
    notes.write_text("# Title\n\nA [link](https://x.example) and `code`\nwrapped.\n")
    assert casual.reference_text(notes) == "Title A link and code wrapped."


# -- the matching rule ----------------------------------------------------------------------------

GOLD = "Violating these terms may lead to a temporary or permanent ban."


@pytest.mark.parametrize(
    "predicted",
    [
        GOLD,
        "violating these terms MAY lead to a temporary, or permanent, ban",
        # Glued to its neighbour, or with a heading in front: it still holds the gold.
        "This includes avoiding interactions in community spaces. " + GOLD,
        "2. Warning: " + GOLD,
        # A piece of it, when the splitter cuts the gold in two.
        "Violating these terms may lead to a temporary",
    ],
)
def test_a_sentence_that_holds_the_gold_or_is_a_piece_of_it_matches(predicted):
    assert casual.matches(predicted, GOLD)


@pytest.mark.parametrize(
    "predicted",
    [
        # A sibling sentence of the same document sharing a long phrase (80% of its words).
        "Violating these terms may lead to a permanent ban.",
        # A heading, and a fragment too short to say anything.
        "Temporary Ban",
        "permanent ban.",
        "",
    ],
)
def test_a_sibling_a_heading_or_a_shared_phrase_does_not_match(predicted):
    assert not casual.matches(predicted, GOLD)


def test_a_short_gold_must_be_held_whole():
    assert casual.matches("A: Nothing.", "A: Nothing.")
    assert casual.matches("Q: What do the letters XZ mean? A: Nothing.", "A: Nothing.")
    assert not casual.matches("Nothing is lost.", "A: Nothing.")


def test_the_longest_common_run_counts_consecutive_shared_tokens():
    assert casual.longest_common_run(list("abcxde"), list("zbcxdq")) == 4
    assert casual.longest_common_run([], ["a"]) == 0


# -- scoring ---------------------------------------------------------------------------------------


def _question(answerable: bool, split: str = "tune") -> object:
    return casual.CasualQuestion(
        id=f"q-{answerable}-{split}",
        question="anything?",
        doc="xz-faq.txt",
        answers=(GOLD,) if answerable else (),
        answerable=answerable,
        split=split,
    )


def test_right_means_the_gold_first_when_answerable_and_a_decline_when_not():
    answerable, unanswerable = _question(True), _question(False)
    assert casual.judge(answerable, (True, [GOLD, "other"])).right
    assert not casual.judge(answerable, (True, ["other", GOLD])).right
    assert not casual.judge(answerable, (False, [])).right
    assert casual.judge(unanswerable, (False, [])).right
    assert not casual.judge(unanswerable, (True, ["anything at all"])).right


def test_score_asks_the_answer_function_and_summaries_count_per_split():
    questions = [
        _question(True, "tune"),
        _question(False, "tune"),
        _question(True, "heldout"),
        _question(False, "heldout"),
    ]
    asked = []

    def always_gold(question: str) -> tuple[bool, list[str]]:
        asked.append(question)
        return True, [GOLD]

    outcomes = casual.score(questions, always_gold)
    assert len(asked) == 4
    by_split = casual.summaries(outcomes)
    for split in casual.SPLITS:
        figures = by_split[split]
        assert (figures.questions, figures.right) == (2, 1)
        assert (figures.answerable, figures.answerable_first_right) == (1, 1)
        assert (figures.unanswerable, figures.unanswerable_declined) == (1, 0)
    assert by_split["all"].questions == 4
    table = casual.markdown_table({"always gold": by_split})
    assert "| always gold | heldout | 2 | 50.0% | 100.0% of 1 | 0.0% | 0.0% of 1 |" in table


# -- the real database -----------------------------------------------------------------------------


def test_the_documents_load_through_the_library_and_questions_are_asked_through_it():
    with casual.casual_corpus() as corpus:
        stored = corpus.run(corpus.library.store.list_documents(casual.SCOPE))
        assert sorted(d.source for d in stored) == [
            f"benchmarks/casual/docs/{name}" for name in DOCUMENT_NAMES
        ]
        result = corpus.ask("how do i see the ulimits")
        logged = corpus.run(corpus.library.store.interactions(casual.SCOPE, limit=5))
        assert [row.question for row in logged] == ["how do i see the ulimits"]
        answered, sentences = casual.library_answerer(corpus)("how do i see the ulimits")
        assert answered == result.answer.answered
        assert sentences == [hit.sentence.text for hit in result.answer.hits]
        # The global seeds are there too, as every server sees them.
        assert len(corpus.index().sentences) > sum(d.sentence_count for d in stored)


def test_evaluate_scores_every_variant_on_every_question():
    questions = QUESTIONS[:6]
    outcomes = casual.evaluate(casual.default_variants(), questions, seeds=False)
    assert list(outcomes) == [v.name for v in casual.default_variants()]
    for rows in outcomes.values():
        assert [o.question.id for o in rows] == [q.id for q in questions]
    # Plain BM25 never declines.
    assert all(o.answered for o in outcomes["plain BM25 (never declines)"])
