"""Bulk adds: worker processes prepare, this process stores in order; same result as one by one."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import aclosing
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import RetrievalSettings
from bot.engine import ingest
from bot.engine.documents import prepare_document, supported_files
from bot.engine.ingest import (
    FileOutcome,
    _prepare,
    _store_group,
    add_files,
    add_large_file,
    prepare_pool,
    workers_for,
)
from bot.engine.library import Library
from bot.errors import DuplicateDocumentError, VerbatimError
from bot.main import SERVICES
from bot.store import NewDocument, open_store
from retrieval import Analyzer
from retrieval.sentences import paragraph_pieces
from tests.bot.engine.test_indexes import QUESTIONS as QUESTIONS_EXACT
from tests.bot.engine.test_indexes import library_matches_rank_bm25
from tests.conftest import ROOT, SEEDS

SCOPE = 42
QUESTIONS = [
    "how many Special Operations forces?",
    "which files can be added?",
    "how often is the kettle descaled?",
    "what does the bot quote?",
]


def make_folder(folder: Path) -> list[Path]:
    """Real documents of each kind, a duplicate, a broken PDF and an empty file, in name order."""
    folder.mkdir()
    (folder / "a-seed.txt").write_bytes(next(SEEDS.glob("*.txt")).read_bytes())
    (folder / "b-readme.md").write_bytes((ROOT / "README.md").read_bytes())
    (folder / "c-broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "d-kettle.html").write_text(
        "<title>Kettle</title><p>The kettle boils a litre in ninety seconds. Descale it with "
        "white vinegar every month, e.g. on the 1st. Dr. Smith wrote the manual.</p>"
        "<p>It holds 1,500 ml. Mr. Jones tested it at 9 a.m. on Monday.</p>"
    )
    (folder / "e-empty.txt").write_text("   \n\n")
    (folder / "f-seed-again.txt").write_bytes(next(SEEDS.glob("*.txt")).read_bytes())
    (folder / "g-list.md").write_text(
        "# Setup\n\n1. Install the bot. 2. Add documents. 3. Ask a question.\n\n"
        "- The bot quotes sentences verbatim . . . with citations.\n- It never paraphrases.\n"
    )
    return supported_files(folder)


async def one_by_one(library: Library, files: list[Path]) -> list[FileOutcome]:
    """The path every add took before: Library.documents.add for each file in turn."""
    outcomes = []
    for path in files:
        try:
            document = await library.documents.add(
                SCOPE, path.read_bytes(), filename=path.name, source=str(path), added_by="t"
            )
        except DuplicateDocumentError as duplicate:
            outcomes.append(FileOutcome(path, error=duplicate.message, existing=duplicate.existing))
        except VerbatimError as error:
            outcomes.append(FileOutcome(path, error=error.message))
        else:
            outcomes.append(FileOutcome(path, document=document))
    return outcomes


async def bulk(library: Library, files: list[Path], workers: int) -> list[FileOutcome]:
    # Spawned: the workers' code must not lean on anything a fork would have copied.
    with prepare_pool(workers, library.max_document_bytes, "spawn") as pool:
        assert (pool is None) == (workers == 0)
        async with aclosing(add_files(library, SCOPE, files, added_by="t", pool=pool)) as added:
            return [outcome async for outcome in added]


async def stored(library: Library) -> tuple:
    """Everything an add leaves behind: documents, sentences with cached terms, answers."""
    store = library.store
    documents = [
        (d.id, d.title, d.source, d.kind, d.content_hash, d.sentence_count)
        for d in await store.list_documents(SCOPE)
    ]
    sentences = [
        (row.id, row.document_id, row.position, row.text, terms)
        for row, terms in await store.scope_sentences_with_terms(SCOPE)
    ]
    answers = []
    for question in QUESTIONS:
        result = await library.ask(question, scope=SCOPE, via="t")
        answers.append([(h.sentence.id, h.score) for h in result.answer.hits])
    return documents, sentences, answers


WAYS = ("thread", "pool", "pool, small groups")


async def test_bulk_add_stores_and_answers_exactly_as_adding_one_by_one(tmp_path, monkeypatch):
    files = make_folder(tmp_path / "docs")
    results = {}
    for way in ("one by one", *WAYS):
        async with open_store(tmp_path / f"{way}.db") as store:
            library = Library(store, RetrievalSettings())
            await library.load()
            if way == "one by one":
                outcomes = await one_by_one(library, files)
            elif way == "pool, small groups":
                with monkeypatch.context() as patch:
                    # Batches of two files, groups of about 20 sentences: [a, b] [c, d, e, f]
                    # [g], the second with the broken PDF, the empty file and the duplicate.
                    patch.setattr(ingest, "_BATCH_FILES", 2)
                    patch.setattr(ingest, "_GROUP_SENTENCES", 20)
                    patch.setattr(ingest, "_GROUP_MIN_SENTENCES", 20)
                    outcomes = await bulk(library, files, 2)
                assert len(library.indexes.own_segments(SCOPE)) == 3
            else:
                outcomes = await bulk(library, files, 0 if way == "thread" else 2)
                # The pool's files go in one group (fewer sentences than a group waits for),
                # with the bad files and the duplicate inside it: one segment.
                assert len(library.indexes.own_segments(SCOPE)) == (1 if way == "pool" else 4)
            results[way] = (
                [(o.path, o.document, o.error, o.existing and o.existing.id) for o in outcomes],
                await stored(library),
            )
    expected_outcomes, expected_store = results["one by one"]
    first = expected_outcomes[0][1]
    assert first is not None
    assert [(path.name, error) for path, _, error, _ in expected_outcomes] == [
        ("a-seed.txt", None),
        ("b-readme.md", None),
        ("c-broken.pdf", "The PDF could not be read (it may be damaged or not really a PDF)."),
        ("d-kettle.html", None),
        ("e-empty.txt", "The document is empty."),
        (
            "f-seed-again.txt",
            f"This content is already here as document {first.id}, '{first.title}'.",
        ),
        ("g-list.md", None),
    ]
    # The copy's outcome names the document that holds its content.
    assert [x for *_, x in expected_outcomes] == [None] * 5 + [first.id, None]
    documents, sentences, answers = expected_store
    assert len(documents) == 4 and len(sentences) > 100
    assert all(terms is not None for *_, terms in sentences)
    assert any(answers)
    for way in WAYS:
        outcomes, store = results[way]
        # Same ids, titles, sentences, cached terms and answers (scores bit for bit).
        assert store == expected_store, way
        assert [(p, e, x) for p, _, e, x in outcomes] == [
            (p, e, x) for p, _, e, x in expected_outcomes
        ]
        assert [d.id if d else None for _, d, *_ in outcomes] == [
            d.id if d else None for _, d, *_ in expected_outcomes
        ]


def test_small_folders_are_prepared_without_worker_processes(tmp_path):
    files = make_folder(tmp_path / "docs")
    assert workers_for(files) == 0
    assert workers_for(files[:1]) == 0


def test_cli_folder_add_in_workers_reports_the_bad_file_and_adds_the_rest(tmp_path):
    make_folder(tmp_path / "docs")
    db = tmp_path / "cli.db"
    result = CliRunner().invoke(
        cli,
        ["--db", str(db), "docs", "add", str(tmp_path / "docs"), "--workers", "2", "--scope", "7"],
        obj=SERVICES,
    )
    assert result.exit_code == 1
    broken = tmp_path / "docs" / "c-broken.pdf"
    assert (
        f"failed {broken}: The PDF could not be read (it may be damaged or not really a PDF)."
        in result.output
    )
    assert f"failed {tmp_path / 'docs' / 'e-empty.txt'}: The document is empty." in result.output
    assert result.output.endswith("4 added, 1 already here, 2 failed\n")
    listed = CliRunner().invoke(
        cli,
        ["--db", str(db), "docs", "add", str(tmp_path / "docs"), "-v", "--scope", "7"],
        obj=SERVICES,
    )
    assert listed.output.count("already here: ") == 5
    assert f"already here: {tmp_path / 'docs' / 'd-kettle.html'} is document " in listed.output
    assert listed.output.endswith("0 added, 5 already here, 2 failed\n")


async def test_merges_wait_for_the_end_of_a_bulk_add_and_scores_stay_exact(tmp_path):
    async with open_store(tmp_path / "merge.db") as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        async with library.indexes.merges_deferred(SCOPE):
            for number in range(12):
                text = f"Note {number} about the river and stone number {number}. Sea {number}."
                await library.documents.add(SCOPE, text.encode(), filename=f"n{number}.txt")
            assert len(library.indexes.own_segments(SCOPE)) == 12  # more than 8: no merge yet
            await library_matches_rank_bm25(library, SCOPE, QUESTIONS_EXACT)
        assert len(library.indexes.own_segments(SCOPE)) <= 8  # merged before the block ends
        await library_matches_rank_bm25(library, SCOPE, QUESTIONS_EXACT)


async def test_a_long_file_split_among_workers_is_stored_as_the_whole(tmp_path):
    text = (ROOT / "README.md").read_bytes()
    alone = prepare_document(
        text, filename="r.md", content_type=None, title=None, analyzer=Analyzer()
    )
    with prepare_pool(2, None) as pool:
        assert pool is not None
        # Pieces of a few hundred characters: dozens of them, done by both workers.
        shared = await asyncio.to_thread(
            prepare_document,
            text,
            filename="r.md",
            content_type=None,
            title=None,
            analyzer=Analyzer(),
            split_and_analyze=partial(pool.split_and_analyze, piece_chars=300),
        )
        path = tmp_path / "long.md"
        path.write_bytes(text)
        async with open_store(tmp_path / "long.db") as store:
            library = Library(store, RetrievalSettings())
            await library.load()
            document = await add_large_file(library, SCOPE, path, pool, added_by="t")
            stored = await store.scope_sentences_with_terms(SCOPE)
    assert len(paragraph_pieces(text.decode(), 300)) > 20
    assert (shared.title, shared.kind, shared.content_hash) == (
        alone.title,
        alone.kind,
        alone.content_hash,
    )
    assert shared.sentences == alone.sentences and shared.joined_terms == alone.joined_terms
    assert shared.postings is not None and alone.postings is not None
    assert shared.postings.vocabulary == alone.postings.vocabulary
    for name in ("indptr", "rows", "tf", "rank", "lengths"):
        assert np.array_equal(getattr(shared.postings, name), getattr(alone.postings, name))
    assert document.content_hash == alone.content_hash
    assert [(row.text, terms) for row, terms in stored] == list(
        zip(alone.sentences, alone.joined_terms, strict=True)
    )


async def test_files_still_land_when_worker_processes_die(tmp_path, caplog):
    files = make_folder(tmp_path / "docs")
    async with open_store(tmp_path / "killed.db") as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        with prepare_pool(2, None) as pool:
            assert pool is not None
            # Killed as the kernel's out-of-memory killer would (all of them: a live one could
            # finish every file before the pool notices the dead one).
            for worker in list(pool._executor._processes.values()):
                worker.kill()
                worker.join()
            async with aclosing(add_files(library, SCOPE, files, pool=pool)) as added:
                outcomes = [outcome async for outcome in added]
    assert "a worker process stopped; preparing the remaining files here" in caplog.text
    assert [outcome.path for outcome in outcomes] == files
    assert [outcome.document is not None for outcome in outcomes] == [
        True,
        True,
        False,  # the broken PDF
        True,
        False,  # the empty file
        False,  # the duplicate
        True,
    ]


def test_a_bulk_add_killed_halfway_keeps_every_document_it_committed(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    readme = (ROOT / "README.md").read_text()
    for number in range(40):
        (folder / f"{number:02d}.md").write_text(
            f"# Copy {number}\n\nCopy number {number}.\n\n{readme}"
        )
    db = tmp_path / "killed.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "docs", "add", "-v", str(folder), "--workers=2", "--scope=9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VERBATIM_DB": str(db), "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own process group: the kill takes the workers too
    )
    assert child.stdout is not None
    watchdog = threading.Timer(60, os.killpg, (child.pid, signal.SIGKILL))  # never hang
    watchdog.start()
    try:
        added = [child.stdout.readline() for _ in range(3)]
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        watchdog.cancel()
    assert all(line.startswith("added document") for line in added)
    with sqlite3.connect(db) as connection:
        documents = connection.execute(
            "SELECT id, source, sentence_count FROM documents WHERE scope = 9 ORDER BY id"
        ).fetchall()
        # Stored in file order, each whole: every sentence and its cached terms.
        assert 3 <= len(documents) < 40
        assert [Path(source).name for _, source, _ in documents] == [
            f"{number:02d}.md" for number in range(len(documents))
        ]
        for document_id, _, count in documents:
            stored = connection.execute(
                "SELECT COUNT(*), COUNT(t.terms) FROM sentences s "
                "LEFT JOIN sentence_terms t ON t.sentence_id = s.id WHERE s.document_id = ?",
                (document_id,),
            ).fetchone()
            assert stored == (count, count)


async def test_a_group_stores_like_one_by_one_with_duplicates_and_bad_files_inside(tmp_path):
    files = make_folder(tmp_path / "docs")
    analyzer = Analyzer()
    prepared = [_prepare(path, analyzer, None) for path in files]
    results = {}
    for way in ("one by one", "group"):
        async with open_store(tmp_path / f"{way}.db") as store:
            library = Library(store, RetrievalSettings(), analyzer)
            await library.load()
            if way == "one by one":
                outcomes = await one_by_one(library, files)
            else:
                # One group: the broken PDF, the empty file and the duplicate of the first file
                # are all inside it.
                group = list(zip(files, prepared, strict=True))
                outcomes = await _store_group(library, SCOPE, group, "t")
                assert len(library.indexes.own_segments(SCOPE)) == 1
            results[way] = (
                [(o.path, o.document, o.error, o.existing and o.existing.id) for o in outcomes],
                await stored(library),
            )
    expected_outcomes, expected_store = results["one by one"]
    outcomes, store = results["group"]
    assert store == expected_store
    assert [(p, e, x) for p, _, e, x in outcomes] == [(p, e, x) for p, _, e, x in expected_outcomes]
    assert [d.id if d else None for _, d, *_ in outcomes] == [
        d.id if d else None for _, d, *_ in expected_outcomes
    ]
    assert sum(d is not None for _, d, *_ in outcomes) == 4


async def test_a_group_refuses_content_stored_before_it_and_repeated_within_it(tmp_path):
    async with open_store(tmp_path / "group.db") as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        kettle = b"The kettle boils a litre in ninety seconds. Descale it every month."
        lamp = b"The lamp has three brightness levels. It charges over USB."
        first = await library.documents.add(SCOPE, kettle, filename="kettle.txt")
        assert first is not None
        group = [
            (library.documents.prepare(data, filename=name, content_type=None, title=None), name)
            for data, name in ((kettle, "again.txt"), (lamp, "lamp.txt"), (lamp, "lamp2.txt"))
        ]
        again, lamp_document, lamp_again = await library.documents.add_prepared_many(SCOPE, group)
        assert isinstance(again, DuplicateDocumentError) and again.existing == first
        assert not isinstance(lamp_document, DuplicateDocumentError)
        assert isinstance(lamp_again, DuplicateDocumentError)
        assert lamp_again.existing == lamp_document
        assert lamp_again.message == (
            f"This content is already here as document {lamp_document.id}, 'lamp'."
        )
        assert [d.id for d in await store.list_documents(SCOPE)] == [first.id, lamp_document.id]
        answer = await library.ask("how does the lamp charge?", scope=SCOPE, via="t")
        assert answer.answer.hits[0].sentence.text == "It charges over USB."
        await library_matches_rank_bm25(library, SCOPE, QUESTIONS_EXACT)


async def test_a_group_that_fails_halfway_stores_none_of_its_documents(tmp_path):
    async with open_store(tmp_path / "group.db") as store:

        def document(name, sentences):
            return NewDocument(name, name, "text", name, "t", sentences)

        with pytest.raises(sqlite3.IntegrityError):
            # The second document's second sentence cannot be stored (NOT NULL).
            await store.add_documents(
                SCOPE, [document("a", ["One.", "Two."]), document("b", ["Three.", None])]
            )
        assert await store.list_documents(SCOPE) == []
        assert await store.scope_sentences_with_terms(SCOPE) == []
        # The store carries on, and a group's ids are in order as one by one would give them.
        results = await store.add_documents(
            SCOPE, [document("a", ["One.", "Two."]), document("b", ["Three."])]
        )
        assert [(d.title, len(ids)) for d, ids in results] == [("a", 2), ("b", 1)]
        (a, a_ids), (b, b_ids) = results
        assert a.id < b.id and a_ids[-1] < b_ids[0]
        rows = await store.scope_sentences_with_terms(SCOPE)
        assert [(row.id, row.text) for row, _ in rows] == list(
            zip(a_ids + b_ids, ["One.", "Two.", "Three."], strict=True)
        )
