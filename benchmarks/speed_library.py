"""The speed benchmark's end-to-end parts: the bot's Library and store on real SQLite files."""

from __future__ import annotations

import asyncio
import gc
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from contextlib import aclosing
from pathlib import Path

import numpy as np
import psutil

from bot.config import RetrievalSettings
from bot.engine.documents import supported_files
from bot.engine.indexes import analyzer_fingerprint
from bot.engine.ingest import PreparePool, add_files, add_large_file, start_method, workers_for
from bot.engine.library import Library
from bot.store import GLOBAL_SCOPE, Store, open_store
from retrieval import Analyzer, SentenceIndex, answer_question, extract_text, split_sentences
from retrieval.postings import Segment

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def rss_mb() -> float:
    """This process's resident memory in MB."""
    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of latencies in ms."""
    a = np.asarray(samples_ms)
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
        "n": len(a),
    }


async def fill_store(
    path: Path,
    scopes: dict[int, list[str]],
    terms: dict[int, list[list[str]]],
    document_size: int,
) -> None:
    """A database holding each scope's sentences as documents, with their terms cached."""
    path.unlink(missing_ok=True)
    async with open_store(path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()  # records the analyzer fingerprint of the cached terms
        await library.seed(SEEDS)
        for scope, sentences in scopes.items():
            for start in range(0, len(sentences), document_size):
                chunk = sentences[start : start + document_size]
                document, _ = await store.add_document(
                    scope=scope,
                    title=f"part {start // document_size + 1}",
                    source=f"bench/{scope}/{start}",
                    kind="text",
                    content_hash=f"{scope}-{start}",
                    added_by="bench",
                    sentences=chunk,
                )
                rows = await store.document_sentences(document.id)
                chunk_terms = terms[scope][start : start + document_size]
                await store.save_sentence_terms(
                    [(row.id, " ".join(t)) for row, t in zip(rows, chunk_terms, strict=True)]
                )
        assert await store.get_meta("terms_analyzer") == analyzer_fingerprint(library.analyzer)


def ingest(documents: list[tuple[str, bytes]], path: Path, rounds: int = 2) -> dict:
    """Ingest throughput: a folder through the bulk path users run, and file by file.

    The bulk path is `verbatim docs add <folder>`'s (bot/engine/ingest.py: worker processes prepare,
    this process stores and indexes in order), timed from starting the workers to an index
    ready to answer; the file-by-file path calls Library.documents.add per document, as a
    Discord upload does. The two alternate, `rounds` times each, on the same files; then each
    phase is timed alone, on one thread. It all runs in a fresh process, as the CLI does.
    """
    folder = path.parent / "ingest-files"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for number, (name, data) in enumerate(documents):
        (folder / f"{number:05d}-{name}").write_bytes(data)
    return run_child("ingest", path, {"folder": str(folder), "rounds": rounds})


def _ingest_rounds(path: Path, payload: dict) -> dict:
    """Ingest's measurements, in the child process.

    Each has an event loop of its own, so no thread is left running when the bulk path starts
    its workers, as in the CLI.
    """
    folder, rounds = Path(payload["folder"]), int(payload["rounds"])
    files = supported_files(folder)
    documents = [(file.name, file.read_bytes()) for file in files]
    result: dict = {"files": len(files), "workers": workers_for(files)}
    # How the workers start here (fork while this process has one thread, else spawn).
    result["start_method"] = start_method()
    for round_ in range(1, rounds + 1):
        for way in ("one_by_one", "bulk"):
            path.unlink(missing_ok=True)
            measure = _ingest_bulk if way == "bulk" else _ingest_one_by_one
            sentences, seconds, cpu = asyncio.run(measure(files, path, result["workers"]))
            result["sentences"] = sentences
            result[f"{way}_s_{round_}"] = seconds
            result[f"{way}_cpu_s_{round_}"] = cpu
    # One long file made of the same texts: documents.add (one thread) against the CLI's path
    # for a long file (its paragraphs shared among the workers).
    long_file = folder / "long" / "all.txt"
    long_file.parent.mkdir()
    long_file.write_text(
        "\n\n".join(extract_text(data, filename=name).text for name, data in documents)
    )
    for round_ in range(1, rounds + 1):
        for way in ("long_one_thread", "long_workers"):
            path.unlink(missing_ok=True)
            workers = result["workers"] if way == "long_workers" else 0
            sentences, seconds, cpu = asyncio.run(_ingest_long(long_file, path, workers))
            result["long_sentences"] = sentences
            result[f"{way}_s_{round_}"] = seconds
            result[f"{way}_cpu_s_{round_}"] = cpu
    for way in ("one_by_one", "bulk", "long_one_thread", "long_workers"):
        result[f"{way}_s"] = min(result[f"{way}_s_{r}"] for r in range(1, rounds + 1))
    result["rounds"] = rounds
    result["end_to_end_s"] = result["bulk_s"]
    result.update(asyncio.run(_ingest_phases(documents, path)))
    return result


async def _ingest_bulk(files: list[Path], path: Path, workers: int) -> tuple[int, float, float]:
    """Sentences, seconds and CPU seconds (this process and the workers) of a bulk add."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    sentences = 0
    pool = PreparePool(workers, None)  # started first, as the CLI does
    try:
        async with open_store(path) as store:
            library = Library(store, RetrievalSettings())
            await library.load()
            async with aclosing(add_files(library, 1, files, pool=pool)) as outcomes:
                async for outcome in outcomes:
                    assert outcome.document is not None, outcome.error
                    sentences += outcome.document.sentence_count
            await library.index(1)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
    finally:
        pool.close(wait=True)  # the workers' CPU time is counted once they have exited
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return sentences, seconds, cpu


async def _ingest_long(file: Path, path: Path, workers: int) -> tuple[int, float, float]:
    """Sentences, seconds and CPU seconds of adding one long file, as `verbatim docs add`."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu = time.perf_counter(), time.process_time()
    pool = PreparePool(workers, None) if workers else None
    try:
        async with open_store(path) as store:
            library = Library(store, RetrievalSettings())
            await library.load()
            if pool is None:
                document = await library.documents.add(1, file.read_bytes(), filename=file.name)
            else:
                document = await add_large_file(library, 1, file, pool)
            assert document is not None
            await library.index(1)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        if pool is not None:
            pool.close(wait=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return document.sentence_count, seconds, cpu


async def _ingest_one_by_one(files: list[Path], path: Path, _: int) -> tuple[int, float, float]:
    """Sentences, seconds and CPU seconds of Library.documents.add called for each file."""
    async with open_store(path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        started, cpu = time.perf_counter(), time.process_time()
        sentences = 0
        for file in files:
            document = await library.documents.add(
                1, file.read_bytes(), filename=file.name, source=str(file)
            )
            assert document is not None
            sentences += document.sentence_count
        await library.index(1)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        await library.settle()
    return sentences, seconds, cpu


async def _ingest_phases(documents: list[tuple[str, bytes]], path: Path) -> dict[str, float]:
    """Seconds of each phase alone, on one thread, over the same documents."""
    result: dict[str, float] = {}
    analyzer = Analyzer()
    t = time.perf_counter()
    texts = [extract_text(data, filename=name).text for name, data in documents]
    result["extract_s"] = time.perf_counter() - t
    t = time.perf_counter()
    split = [split_sentences(text) for text in texts]
    result["split_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for each in split:
        for sentence in each:
            analyzer.analyze(sentence)
    result["analyze_s"] = time.perf_counter() - t
    path.unlink(missing_ok=True)
    async with open_store(path) as store:
        t = time.perf_counter()
        for number, each in enumerate(split):
            await store.add_document(
                scope=1,
                title="t",
                source="s",
                kind="text",
                content_hash=str(number),
                added_by="b",
                sentences=each,
            )
        result["store_s"] = time.perf_counter() - t
    return result


async def answer_path(path: Path, questions: list[str], scope: int) -> dict[str, float]:
    """Answers per second through Library.ask (engine + SQLite log write), 1 and 8 at a time.

    Best of two alternating rounds each.
    """
    async with open_store(path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        await library.settle()
        for question in questions[:50]:
            await library.ask(question, scope=scope, via="bench")

        async def worker(mine: list[str]) -> None:
            for question in mine:
                await library.ask(question, scope=scope, via="bench")

        # Best of two alternating rounds each: this VM's timings drift between seconds.
        sequential = concurrent = 0.0
        for _ in range(2):
            started = time.perf_counter()
            await worker(questions)
            sequential = max(sequential, len(questions) / (time.perf_counter() - started))
            started = time.perf_counter()
            await asyncio.gather(*(worker(questions[i::8]) for i in range(8)))
            concurrent = max(concurrent, len(questions) / (time.perf_counter() - started))
        logged = len(await store.interactions(scope, limit=100_000))
        parts = await _answer_parts(library, store, questions, scope)
    return {
        "sequential_per_s": sequential,
        "concurrent8_per_s": concurrent,
        "logged": logged,
        **parts,
    }


async def _answer_parts(
    library: Library, store: Store, questions: list[str], scope: int
) -> dict[str, float]:
    """Mean microseconds per question of each part of Library.ask, measured one by one.

    Timed on the first 1,000 questions; analysis alone on a fresh analyzer (it remembers
    whole texts) whose stem cache is warmed on the next 1,000.
    """
    warm, questions = questions[1000:2000], questions[:1000]
    settings = library.settings
    index = await library.index(scope)
    weights = settings.rerank_weights()
    candidates = max(settings.top_k, settings.rerank_candidates)
    terms = [library.analyzer.analyze(question) for question in questions]
    n = len(questions)

    def mean_us(started: float) -> float:
        return (time.perf_counter() - started) / n * 1e6

    fresh = Analyzer()
    for question in warm:
        fresh.analyze(question)
    t = time.perf_counter()
    for question in questions:
        fresh.analyze(question)
    analyze_us = mean_us(t)
    t = time.perf_counter()
    for each in terms:
        index.search(each, candidates)
    search_us = mean_us(t)
    t = time.perf_counter()
    for question in questions:
        answer_question(
            question,
            index,
            library.analyzer,
            top_k=settings.top_k,
            min_confidence=settings.min_confidence,
            context=settings.context,
            weights=weights,
        )
    answer_us = mean_us(t)
    t = time.perf_counter()
    for question in questions:
        await asyncio.to_thread(len, question)
    hop_us = mean_us(t)
    t = time.perf_counter()
    for question in questions:
        await store.log_interaction(
            scope=scope, via="bench", question=question, answers=[], latency_ms=0.0
        )
    log_us = mean_us(t)
    t = time.perf_counter()
    for question in questions:
        await library.ask(question, scope=scope, via="bench")
    ask_us = mean_us(t)
    return {
        "analyze_us": analyze_us,
        "search_us": search_us,
        "search_k": candidates,
        "rerank_us": answer_us - analyze_us - search_us,
        "answer_question_us": answer_us,
        "thread_hop_us": hop_us,
        "log_write_us": log_us,
        "ask_us": ask_us,
    }


def run_child(mode: str, path: Path, payload: dict) -> dict:
    """Run a measurement in a fresh process (clean memory and start-up figures)."""
    payload_file = path.with_suffix(".payload.json")
    payload_file.write_text(json.dumps(payload))
    out = subprocess.run(
        [sys.executable, __file__, mode, str(path), str(payload_file)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _cold_start_and_add(path: Path, payload: dict) -> dict:
    """Start the bot's engine on a big database, answer, then add a document while asking."""
    questions: list[str] = payload["questions"]
    scope: int = payload["scope"]
    result: dict = {"rss_before_mb": rss_mb()}
    started = time.perf_counter()
    async with open_store(path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        first = await library.ask(questions[0], scope=scope, via="bench")
        result["ready_s"] = time.perf_counter() - started
        result["first_answered"] = first.answer.answered
        await library.settle()
        result["rss_loaded_mb"] = rss_mb()
        index = await library.index(scope)
        result["sentences"] = len(index)
        result["index_mb"] = index.nbytes / 1e6
        # Questions keep coming while a 1,000-sentence document is added.
        latencies: list[float] = []
        stop = asyncio.Event()

        async def asker() -> None:
            i = 0
            while not stop.is_set():
                t = time.perf_counter()
                await library.ask(questions[i % len(questions)], scope=scope, via="bench")
                latencies.append((time.perf_counter() - t) * 1000)
                i += 1

        task = asyncio.create_task(asker())
        await asyncio.sleep(0.2)
        before = len(latencies)
        t = time.perf_counter()
        document = await library.documents.add(
            scope, payload["document"].encode(), filename="added.txt", source="added"
        )
        added_s = time.perf_counter() - t
        index = await library.index(scope)
        visible_s = time.perf_counter() - t
        during = latencies[before:]
        t2 = time.perf_counter()
        await library.settle()
        result["settle_s"] = time.perf_counter() - t2
        await asyncio.sleep(0.2)
        stop.set()
        await task
        assert document is not None
        result["added_sentences"] = document.sentence_count
        result["add_document_s"] = added_s
        result["searchable_s"] = visible_s
        result["index_side_s"] = _index_side_seconds(library, scope, document.id)
        result["answered_during_add"] = len(during)
        result["latency_during_add_ms"] = percentiles(during) if during else {}
        result["latency_overall_ms"] = percentiles(latencies)
        # Exact after the add: the live index against one built from scratch over the union.
        live = await library.index(scope)
        fresh = SentenceIndex.from_segments(
            [Segment.merge(live.segments)], k1=live.k1, b=live.b, epsilon=live.epsilon
        )
        fresh.prepare()
        analyzer = library.analyzer
        equal = 0
        for question in questions[:50] + payload["added_questions"]:
            terms = analyzer.analyze(question)
            a = [(s.id, v) for s, v in live.search(terms, 5)]
            b = [(s.id, v) for s, v in fresh.search(terms, 5)]
            equal += a == b
        result["exact_after_add"] = f"{equal}/{50 + len(payload['added_questions'])}"
        result["added_searchable"] = any(s.has_document(document.id) for s in live.segments)
    return result


def _index_side_seconds(library: Library, scope: int, document_id: int) -> float:
    """Seconds the index side of an add takes: analyze, build a segment, gather a new index."""
    live = library.indexes.segments_of(scope)
    rows = [
        (s, None) for segment in live for s in segment.sentences if s.document.id == document_id
    ]
    from bot.store import StoredSentence

    stored = [
        (StoredSentence(s.id, s.document.id, s.document.title, "", "", s.position, s.text), None)
        for s, _ in rows
    ]
    t = time.perf_counter()
    segment, _ = library.indexes.analyze_rows(library.analyzer, stored)
    SentenceIndex.from_segments([*live, segment]).search(["lord"], 5)
    return time.perf_counter() - t


async def _many_scopes(path: Path, payload: dict) -> dict:
    """Memory and latency with many small scopes in one process."""
    scopes: int = payload["scopes"]
    questions: list[str] = payload["questions"]
    result: dict = {"rss_before_mb": rss_mb()}
    started = time.perf_counter()
    async with open_store(path) as store:
        library = Library(store, RetrievalSettings())
        await library.load()
        await library.settle()
        result["load_s"] = time.perf_counter() - started
        result["rss_loaded_mb"] = rss_mb()
        rng = random.Random(5)
        analyzer = library.analyzer
        # The first question in a scope gathers its index (and precomputes it): timed apart.
        first_ms = []
        for scope in range(1, scopes + 1):
            terms = analyzer.analyze(questions[scope % len(questions)])
            t = time.perf_counter()
            index = await library.index(scope)
            index.search(terms, 5)
            first_ms.append((time.perf_counter() - t) * 1000)
        result["first_question_in_scope_ms"] = percentiles(first_ms)
        result["rss_all_scopes_indexed_mb"] = rss_mb()
        search_ms, ask_ms = [], []
        for i in range(payload["queries"]):
            scope = rng.randint(1, scopes)
            terms = analyzer.analyze(questions[i % len(questions)])
            t = time.perf_counter()
            index = await library.index(scope)
            index.search(terms, 5)
            search_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await library.ask(questions[i % len(questions)], scope=scope, via="bench")
            ask_ms.append((time.perf_counter() - t) * 1000)
        result["search_ms"] = percentiles(search_ms)
        result["ask_ms"] = percentiles(ask_ms)
        result["rss_after_queries_mb"] = rss_mb()
        result["scopes"] = scopes
        result["global_sentences"] = sum(
            len(s)
            for s in library.indexes.segments_of(GLOBAL_SCOPE)
        )
    return result


if __name__ == "__main__":
    mode, db, raw = sys.argv[1], Path(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text())
    if mode == "ingest":
        print(json.dumps(_ingest_rounds(db, raw)))
    else:
        work = {"cold-start": _cold_start_and_add, "many-scopes": _many_scopes}[mode]
        print(json.dumps(asyncio.run(work(db, raw))))
