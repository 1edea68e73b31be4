"""Casual questions over real community documents: how often the first quote is right.

    python benchmarks/casual_eval.py [--out FILE] [--details FILE.jsonl] [--no-seeds]

The documents of benchmarks/casual/docs/ go into a fresh temporary database through the same
path as `verbatim docs add` (Library.documents.add, after bot.main.open_library seeds and loads
it); every question of benchmarks/casual/questions.jsonl is then asked through Library.ask, as
`verbatim ask` asks it. A question is right when it is answerable and the first sentence given
matches one of its gold sentences (see `matches`), or when it is unanswerable and declined.

Ranking variants plug in as `Variant(name, answerer, retrieval)`: `answerer` builds, from the
loaded corpus, a function question -> (answered, sentences); every variant is scored on the
same questions and shown side by side. Tune on the "tune" half only; report "heldout".
Takes a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

from markdown_it import MarkdownIt

from bot.config import RetrievalSettings, Settings, StorageSettings
from bot.engine.library import AskResult, Library
from bot.main import open_library
from retrieval.index import SentenceIndex

T = TypeVar("T")

CASUAL = Path(__file__).resolve().parent / "casual"
DOCUMENTS = CASUAL / "docs"
QUESTIONS = CASUAL / "questions.jsonl"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SPLITS = ("tune", "heldout")
# The server scope the documents are added to; questions search it and the global seeds.
SCOPE = 1_000_000_000_000_000_001

# -- the questions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CasualQuestion:
    """One question as a member typed it, with the sentences that answer it (if any)."""

    id: str
    question: str
    # The document it is about: the one holding its answer, or, for an unanswerable question,
    # the one whose subject it asks about.
    doc: str
    # Exact substrings of the document's readable text (reference_text); any one is right.
    answers: tuple[str, ...]
    answerable: bool
    split: str


def load_questions(path: Path = QUESTIONS) -> list[CasualQuestion]:
    """The questions of a JSON Lines file, in file order."""
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        questions.append(
            CasualQuestion(
                id=row["id"],
                question=row["question"],
                doc=row["doc"],
                answers=tuple(row["answers"]),
                answerable=row["answerable"],
                split=row["split"],
            )
        )
    return questions


def assigned_splits(questions: Sequence[CasualQuestion]) -> dict[str, str]:
    """The fixed rule for the halves: alternate within each (document, answerable) group.

    Questions are taken in file order within their group: the 1st, 3rd, 5th ... tune, the 2nd,
    4th ... held out, so each half has every document and about the same unanswerable share.
    """
    seen: dict[tuple[str, bool], int] = {}
    splits = {}
    for question in questions:
        group = (question.doc, question.answerable)
        position = seen.get(group, 0)
        seen[group] = position + 1
        splits[question.id] = SPLITS[position % 2]
    return splits


# -- the documents' readable text, for checking the gold answers --------------------------------


class _TextOfHtml(HTMLParser):
    """The text of an HTML page with tags dropped and character references resolved."""

    _SKIPPED = frozenset({"script", "style", "head", "title"})
    # Block boundaries become spaces, so two paragraphs never glue into one word; inline tags
    # (<b>, <i>, <a>) do not, so a word with a bold part stays one word.
    _BLOCKS = frozenset(
        "p div br hr h1 h2 h3 h4 h5 h6 ul ol li dl dt dd table tr td th pre blockquote "
        "section article header footer nav".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1
        if tag in self._BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1
        if tag in self._BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def reference_text(path: Path) -> str:
    """A document's readable text, whitespace collapsed: what gold answers are substrings of.

    Deliberately independent of Verbatim's extractor (the standard library's HTML parser; for
    Markdown, markdown-it's HTML rendering read the same way), so changing the extractor cannot
    silently change what the gold answers are checked against.
    """
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        source = MarkdownIt("commonmark").render(source)
    if path.suffix in {".md", ".html"}:
        parser = _TextOfHtml()
        parser.feed(source)
        parser.close()
        source = "".join(parser.parts)
    return " ".join(source.split())


# -- the matching rule ----------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# A predicted sentence matches a gold one when they share a run of words at least this share of
# the shorter one's words (different boundaries give 1.0: one text holds the other; sibling
# sentences such as "Violating these terms may lead to a temporary or permanent ban." and
# "... to a permanent ban." reach 0.8 in these documents) ...
MATCH_SHARE = 0.9
# ... and at least this many words (or the whole gold sentence, when it is shorter).
MATCH_MIN_WORDS = 4


def words(text: str) -> list[str]:
    """The matching rule's tokens: NFKC-normalised, case-folded runs of word characters."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """The length of the longest run of consecutive tokens that a and b share."""
    best = 0
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if token == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def matches(predicted: str, gold: str) -> bool:
    """Whether a predicted sentence is the gold sentence, whatever the splitter's boundaries.

    The sentence splitter decides where sentences start and end: it may cut a gold sentence in
    two, glue it to its neighbour, or keep a heading or "A:" in front of it. So the texts are
    compared as word runs (case, punctuation and markup ignored): they match when their longest
    shared run of consecutive words covers at least 90% of the shorter text's words and is at
    least 4 words long (or the whole gold sentence, if it has fewer). A sentence that contains
    the gold, or is a piece of it, matches; a sibling sentence that shares a long phrase with
    it does not, nor does a heading or a short fragment that only shares a word or two.
    """
    p, g = words(predicted), words(gold)
    if not p or not g:
        return False
    run = longest_common_run(p, g)
    return run >= MATCH_SHARE * min(len(p), len(g)) and run >= min(MATCH_MIN_WORDS, len(g))


# -- scoring ---------------------------------------------------------------------------------

# What an answerer gives for a question: whether it answered, and the sentences it quoted (the
# first is the answer; empty when it declined).
Reply = tuple[bool, list[str]]
AnswerFn = Callable[[str], Reply]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one question fared."""

    question: CasualQuestion
    answered: bool
    first: str | None
    right: bool


def judge(question: CasualQuestion, reply: Reply) -> Outcome:
    """Right: answerable and the first sentence matches a gold one, or unanswerable and declined."""
    answered, sentences = reply
    first = sentences[0] if answered and sentences else None
    if question.answerable:
        right = first is not None and any(matches(first, gold) for gold in question.answers)
    else:
        right = not answered
    return Outcome(question, answered, first, right)


def score(questions: Sequence[CasualQuestion], answer: AnswerFn) -> list[Outcome]:
    """Ask every question of the answer function and judge each reply."""
    return [judge(question, answer(question.question)) for question in questions]


@dataclass(frozen=True, slots=True)
class Summary:
    """One split's figures for one variant."""

    questions: int
    right: int
    answerable: int
    answerable_first_right: int
    answerable_declined: int
    unanswerable: int
    unanswerable_declined: int

    @staticmethod
    def of(outcomes: Sequence[Outcome]) -> Summary:
        answerable = [o for o in outcomes if o.question.answerable]
        unanswerable = [o for o in outcomes if not o.question.answerable]
        return Summary(
            questions=len(outcomes),
            right=sum(o.right for o in outcomes),
            answerable=len(answerable),
            answerable_first_right=sum(o.right for o in answerable),
            answerable_declined=sum(not o.answered for o in answerable),
            unanswerable=len(unanswerable),
            unanswerable_declined=sum(not o.answered for o in unanswerable),
        )


def summaries(outcomes: Sequence[Outcome]) -> dict[str, Summary]:
    """Figures per split, and for all questions."""
    result = {
        split: Summary.of([o for o in outcomes if o.question.split == split]) for split in SPLITS
    }
    result["all"] = Summary.of(outcomes)
    return result


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def markdown_table(results: dict[str, dict[str, Summary]]) -> str:
    """One row per variant and split: right, answerable first-right/declined, unanswerable."""
    lines = [
        "| variant | split | questions | right | answerable: first right | answerable: "
        "declined | unanswerable: declined |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, by_split in results.items():
        for split, s in by_split.items():
            lines.append(
                f"| {name} | {split} | {s.questions} | {_percent(s.right, s.questions)} | "
                f"{_percent(s.answerable_first_right, s.answerable)} of {s.answerable} | "
                f"{_percent(s.answerable_declined, s.answerable)} | "
                f"{_percent(s.unanswerable_declined, s.unanswerable)} of {s.unanswerable} |"
            )
    return "\n".join(lines)


# -- the documents in a real Verbatim database ----------------------------------------------


class CasualCorpus:
    """The casual documents in a fresh temporary Verbatim database, opened as the CLI opens it.

    The library lives on an event loop in a background thread, so answerers can be plain
    functions: `ask` runs Library.ask (the path `verbatim ask` and the bot take) and waits.
    """

    def __init__(self, library: Library, loop: asyncio.AbstractEventLoop) -> None:
        self.library = library
        self._loop = loop

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the library's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def ask(self, question: str) -> AskResult:
        """Ask through Library.ask, in the documents' scope (plus the global seeds)."""
        return self.run(self.library.ask(question, scope=SCOPE, via="cli"))

    def index(self) -> SentenceIndex:
        """The index the documents' scope answers from (its own and the global sentences)."""
        return self.run(self.library.index(SCOPE))


@contextmanager
def casual_corpus(
    retrieval: RetrievalSettings | None = None,
    *,
    documents: Path = DOCUMENTS,
    seeds: bool = True,
) -> Iterator[CasualCorpus]:
    """Open a fresh database as `verbatim` does, add every document, and hand over the corpus."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="casual-corpus", daemon=True)
    thread.start()
    try:
        with tempfile.TemporaryDirectory(prefix="verbatim-casual-") as folder:
            no_seeds = Path(folder) / "no-seeds"
            no_seeds.mkdir()
            settings = Settings(
                storage=StorageSettings(
                    database=Path(folder) / "casual.db", seeds=SEEDS if seeds else no_seeds
                ),
                retrieval=retrieval or RetrievalSettings(),
            )
            ready: Future[Library] = Future()
            release = asyncio.Event()

            async def hold() -> None:
                # open_library is the program's start-up (purge, seed, load); the library stays
                # open until the caller is done, then its store closes on its own loop.
                try:
                    async with open_library(settings) as library:
                        for path in sorted(documents.iterdir()):
                            await library.documents.add(
                                SCOPE,
                                path.read_bytes(),
                                filename=path.name,
                                source=f"benchmarks/casual/docs/{path.name}",
                                added_by="casual_eval",
                            )
                        await library.settle()
                        ready.set_result(library)
                        await release.wait()
                except BaseException as error:
                    if not ready.done():
                        ready.set_exception(error)
                    raise

            held = asyncio.run_coroutine_threadsafe(hold(), loop)
            try:
                yield CasualCorpus(ready.result(), loop)
            finally:
                loop.call_soon_threadsafe(release.set)
                held.result()
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


# -- variants -----------------------------------------------------------------------------------


def library_answerer(corpus: CasualCorpus) -> AnswerFn:
    """Answers through Library.ask with the corpus's settings: the shipped path."""

    def answer(question: str) -> Reply:
        result = corpus.ask(question)
        return result.answer.answered, [hit.sentence.text for hit in result.answer.hits]

    return answer


def plain_bm25_answerer(corpus: CasualCorpus) -> AnswerFn:
    """A floor for comparison: rank-bm25 over lower-case words, best sentence, never declines."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from quality_rank import PlainBM25

    sentences = [sentence.text for sentence in corpus.index().sentences]
    bm25 = PlainBM25(sentences)

    def answer(question: str) -> Reply:
        scores = bm25.scores(question)
        # Ties go to the earlier sentence, as in Verbatim.
        return True, [sentences[int(scores.argmax())]]

    return answer


@dataclass(frozen=True)
class Variant:
    """A ranking to score: how to answer, given the corpus loaded with these settings."""

    name: str
    answerer: Callable[[CasualCorpus], AnswerFn] = library_answerer
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)


def default_variants() -> list[Variant]:
    """The shipped ranking with the reader, the words-only ranking before it, and plain BM25."""
    return [
        Variant("Verbatim (shipped: with the reader)"),
        Variant(
            "Verbatim, words only (before the reader)",
            retrieval=RetrievalSettings(reader=False),
        ),
        Variant("plain BM25 (never declines)", plain_bm25_answerer),
    ]


def evaluate(
    variants: Sequence[Variant],
    questions: Sequence[CasualQuestion],
    *,
    seeds: bool = True,
) -> dict[str, list[Outcome]]:
    """Every variant's outcomes on the questions, each over a freshly loaded corpus."""
    results = {}
    for variant in variants:
        with casual_corpus(variant.retrieval, seeds=seeds) as corpus:
            results[variant.name] = score(questions, variant.answerer(corpus))
    return results


def details(outcomes: dict[str, list[Outcome]]) -> Iterator[str]:
    """One JSON line per variant and question: what was quoted first and whether it was right."""
    for name, rows in outcomes.items():
        for outcome in rows:
            yield json.dumps(
                {
                    "variant": name,
                    "id": outcome.question.id,
                    "split": outcome.question.split,
                    "question": outcome.question.question,
                    "answerable": outcome.question.answerable,
                    "answered": outcome.answered,
                    "first": outcome.first,
                    "right": outcome.right,
                },
                ensure_ascii=False,
            )


def report(outcomes: dict[str, list[Outcome]], questions: Sequence[CasualQuestion]) -> str:
    """The Markdown report: what was measured, and the table."""
    unanswerable = sum(not q.answerable for q in questions)
    documents = sorted({q.doc for q in questions})
    table = markdown_table({name: summaries(rows) for name, rows in outcomes.items()})
    return (
        "## Casual questions (benchmarks/casual)\n\n"
        f"{len(questions)} questions as Discord members type them ({unanswerable} on-topic but "
        f"not answered by the documents) over {len(documents)} real documents "
        f"({', '.join(documents)}). Right: answerable and the first sentence quoted is a gold "
        "one, or unanswerable and declined. Tune on `tune` only; `heldout` is the figure to "
        "report.\n\n" + table + "\n"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="Also write the Markdown report to this file.")
    parser.add_argument("--details", type=Path, help="Write each question's outcome (JSONL).")
    parser.add_argument(
        "--no-seeds", action="store_true", help="Leave the global seeds out of the database."
    )
    args = parser.parse_args(argv)
    questions = load_questions()
    outcomes = evaluate(default_variants(), questions, seeds=not args.no_seeds)
    text = report(outcomes, questions)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.details:
        args.details.write_text("\n".join(details(outcomes)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
