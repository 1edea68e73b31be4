"""Bulk adds: files prepared in worker processes, stored and indexed in order here.

Preparing a document (extract, split, analyze, build its postings) is pure CPU work and most
of an add; storing and indexing it must happen in the process that owns the store and the
indexes. So files go to a process pool (one worker per core, each with its own analyzer), a
batch of consecutive files at a time, and come back as PreparedDocuments, which this process
hands to DocumentChanges.add_prepared_many in file order, a group of them per transaction: the same
duplicate refusal, the scope's change lock, and the same document ids, sentences, terms and
answers as adding the files one by one, for a few trips to the store per group instead of a
few per file. A single long file has its paragraphs split and analyzed by the workers instead
(add_large_file).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bot.engine.documents import PreparedDocument, prepare_document
from bot.engine.library import Library
from bot.errors import DuplicateDocumentError, VerbatimError
from bot.store import StoredDocument
from retrieval import Analyzer, split_sentences
from retrieval.sentences import paragraph_pieces

log = logging.getLogger(__name__)

# Below this many bytes in all, worker processes (forked: milliseconds to start; spawned: each
# imports NLTK and numpy, about a second) cost more than they save: a thread prepares instead.
POOL_MIN_BYTES = 1_000_000
# Files go to a worker in batches of consecutive files, up to about this many bytes or this
# many files: each hand-off costs this process (sending, receiving, waking up) about as much
# as storing a small file, so small files travel together.
_BATCH_BYTES = 64_000
_BATCH_FILES = 16
# Near the end a batch holds at most 1/(this x workers) of the bytes left.
_END_BATCHES_PER_WORKER = 2
# Batches handed to the pool ahead of the ones being stored, per worker: enough to keep every
# worker busy while this process stores, few enough that prepared documents do not pile up.
_AHEAD_PER_WORKER = 4
# Ready files stored together, in one transaction, up to about this many sentences: enough to
# pay each trip to the store's thread and each commit once for many files; small enough that
# a commit stays short.
_GROUP_SENTENCES = 5_000
# A group waits for the files after it until it holds this many sentences.
_GROUP_MIN_SENTENCES = 2_000
_WORKER_STOPPED = "a worker process stopped; preparing the remaining files here"
# A long text is cut into about this many pieces per worker (so a slow piece does not leave
# the others idle), none shorter than this many characters (each piece is a round trip).
_PIECES_PER_WORKER = 4
_MIN_PIECE_CHARS = 50_000


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What became of one file: its stored document, or the reason it was not added."""

    path: Path
    document: StoredDocument | None = None
    error: str | None = None
    # The document already holding this content, when that is why it was not added.
    existing: StoredDocument | None = None


@dataclass(frozen=True, slots=True)
class _Refused:
    """A worker's answer for a file it could not prepare."""

    message: str
    # The traceback of an unexpected error (a bug, not the file's fault), logged here.
    details: str | None = None


def workers_for(files: Sequence[Path]) -> int:
    """How many worker processes to prepare these files in (0: in a thread, one by one)."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return 0
    total = 0
    for path in files:
        total += _size(path)
        if total >= POOL_MIN_BYTES:
            return cores
    return 0


class PreparePool:
    """Worker processes that prepare files, one per core, each with its own analyzer.

    They start at once, so a spawned worker's imports (NLTK, numpy: about a second) overlap
    whatever the caller does next, such as loading the library.
    """

    def __init__(self, workers: int, max_bytes: int | None, method: str | None = None) -> None:
        self.workers = workers
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context(method or start_method()),
            initializer=_start_worker,
            initargs=(max_bytes,),
        )
        for _ in range(workers):
            self._executor.submit(int)  # spawned workers start on demand: start them all now

    def submit(self, paths: Sequence[Path]) -> Future[list[PreparedDocument | _Refused]]:
        """Prepare files in a worker, in order (BrokenProcessPool if a worker has died)."""
        return self._executor.submit(_prepare_files, [str(path) for path in paths])

    def split_and_analyze(
        self, text: str, piece_chars: int | None = None
    ) -> tuple[list[str], list[list[str]]]:
        """Sentences of a long text and their terms, its paragraphs shared among the workers.

        The same as split_sentences and Analyzer.analyze over the whole text (see
        paragraph_pieces). Blocks until done: call it in a thread.
        """
        size = piece_chars or max(
            len(text) // (self.workers * _PIECES_PER_WORKER), _MIN_PIECE_CHARS
        )
        sentences: list[str] = []
        terms: list[list[str]] = []
        for piece_sentences, piece_terms in self._executor.map(
            _split_and_analyze, paragraph_pieces(text, size)
        ):
            sentences += piece_sentences
            terms += piece_terms
        return sentences, terms

    def close(self, *, wait: bool = False) -> None:
        """Drop files not yet started; the workers exit once idle (wait: until they have)."""
        self._executor.shutdown(wait=wait, cancel_futures=True)


def start_method() -> str:
    """How to start workers: fork while this process has one thread, else spawn.

    A fork copies only the calling thread, so with no other thread nothing is copied
    mid-flight, and the workers start in milliseconds with everything already imported. Once
    threads run (SQLite's, asyncio's) a fork could copy a lock held by one of them: spawn.
    The workers' code is the same either way.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


@contextmanager
def prepare_pool(
    workers: int, max_bytes: int | None, method: str | None = None
) -> Iterator[PreparePool | None]:
    """A PreparePool of this many workers for the duration (None when workers is 0).

    `method` starts the workers ("fork", "spawn"; None: start_method()).
    """
    if workers <= 0:
        yield None
        return
    pool = PreparePool(workers, max_bytes, method)
    try:
        yield pool
    finally:
        pool.close()


async def add_files(
    library: Library,
    scope: int,
    files: Sequence[Path],
    *,
    added_by: str = "",
    pool: PreparePool | None = None,
) -> AsyncIterator[FileOutcome]:
    """Add files to a scope, yielding each one's outcome in file order as it is stored.

    Files are prepared in the pool's workers, or one by one in a thread without a pool. A file
    that cannot be read, is refused or is a duplicate gets an error and the rest carry on.
    Without a pool each document is committed on its own; with one, consecutive files are
    committed together, a group of them all or nothing (see DocumentChanges.add_prepared_many), and
    their outcomes are yielded once it is committed. Either way, stopping halfway keeps every
    file reported as stored, and never a file without the ones before it.
    """
    if pool is None:
        # Each document is a small segment: merged many at a time, not after every few adds.
        async with library.indexes.merges_deferred(scope):
            for path in files:
                yield await _add_in_thread(library, scope, path, added_by)
    else:
        # Each group is a segment of thousands of sentences: the usual merges suit them, and
        # running while the workers prepare the next files, they leave few segments to index
        # at the end (deferred, they would all be merged or indexed after the last file).
        async with aclosing(_add_with_pool(library, scope, files, added_by, pool)) as added:
            async for outcome in added:
                yield outcome


async def _add_with_pool(
    library: Library, scope: int, files: Sequence[Path], added_by: str, pool: PreparePool
) -> AsyncIterator[FileOutcome]:
    batches = iter(_batches(files, pool.workers))
    ahead: deque[tuple[list[Path], Future[list[PreparedDocument | _Refused]]]] = deque()
    # Prepared files not stored yet, in file order, and their sentences.
    ready: deque[tuple[Path, PreparedDocument | _Refused]] = deque()
    ready_sentences = 0
    broken = False

    def submit_ahead() -> None:
        nonlocal broken, batches
        while not broken and len(ahead) < pool.workers * _AHEAD_PER_WORKER:
            batch = next(batches, None)
            if batch is None:
                return
            try:
                ahead.append((batch, pool.submit(batch)))
            except BrokenProcessPool:
                log.warning(_WORKER_STOPPED)
                broken = True
                batches = iter([batch, *batches])

    while True:
        submit_ahead()
        # Files are stored in groups, each in one transaction: each trip to the store's thread
        # and each commit is then paid once per group, not per file. A group waits for the
        # next batch while it is small (this process has nothing else to do meanwhile), and
        # takes the ready ones up to its limit.
        while ahead and ready_sentences < _GROUP_SENTENCES:
            batch, future = ahead[0]
            if ready_sentences >= _GROUP_MIN_SENTENCES and not _ready(future):
                break
            try:
                prepared = await asyncio.wrap_future(future)
            except BrokenProcessPool:
                break  # left at the head: handled below once what is ready is stored
            ahead.popleft()
            ready.extend(zip(batch, prepared, strict=True))
            ready_sentences += sum(map(_sentence_count, prepared))
            submit_ahead()
        if ready:
            group = [ready.popleft()]
            sentences = _sentence_count(group[0][1])
            while ready and sentences < _GROUP_SENTENCES:
                group.append(ready.popleft())
                sentences += _sentence_count(group[-1][1])
            ready_sentences -= sentences
            for outcome in await _store_group(library, scope, group, added_by):
                yield outcome
            continue
        if not ahead:
            break
        # A worker died (killed, or crashed inside a parser) and took the pool with it: this
        # batch's files and the rest are prepared here, in a thread, one by one.
        batch, _ = ahead.popleft()
        if not broken:
            log.warning(_WORKER_STOPPED)
        broken = True
        for path in batch:
            yield await _add_in_thread(library, scope, path, added_by)
    for batch in batches:
        for path in batch:
            yield await _add_in_thread(library, scope, path, added_by)


def _batches(files: Sequence[Path], workers: int) -> Iterator[list[Path]]:
    """Consecutive files in batches for one worker each (see _BATCH_BYTES).

    Near the end batches get smaller (at most a share of what is left), so the workers finish
    together instead of one preparing a last large batch while the other waits.
    """
    sizes = [_size(path) for path in files]
    remaining = sum(sizes)
    batch: list[Path] = []
    size = 0
    for path, file_size in zip(files, sizes, strict=True):
        batch.append(path)
        size += file_size
        limit = min(_BATCH_BYTES, remaining // (_END_BATCHES_PER_WORKER * workers))
        if size >= limit or len(batch) >= _BATCH_FILES:
            yield batch
            remaining -= size
            batch, size = [], 0
    if batch:
        yield batch


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reported when the worker reads it


def _ready(future: Future[list[PreparedDocument | _Refused]]) -> bool:
    """Whether a worker's answer is in (an exception, such as a dead pool's, is not)."""
    return future.done() and not future.cancelled() and future.exception() is None


def _sentence_count(prepared: PreparedDocument | _Refused) -> int:
    return 0 if isinstance(prepared, _Refused) else len(prepared.sentences)


async def add_large_file(
    library: Library,
    scope: int,
    path: Path,
    pool: PreparePool,
    *,
    title: str | None = None,
    added_by: str = "",
) -> StoredDocument:
    """Add one file whose text is split and analyzed by the pool's workers, paragraphs apart.

    Stored and indexed exactly as Library.documents.add would (same sentences, same terms);
    raises the same errors.
    """
    data = await asyncio.to_thread(path.read_bytes)
    prepare = partial(
        prepare_document,
        data,
        filename=path.name,
        content_type=None,
        title=title,
        analyzer=library.analyzer,
        max_bytes=library.max_document_bytes,
    )
    try:
        prepared = await asyncio.to_thread(prepare, split_and_analyze=pool.split_and_analyze)
    except BrokenProcessPool:
        log.warning("a worker process stopped; preparing %s in this process", path)
        prepared = await asyncio.to_thread(prepare)
    document = await library.documents.add_prepared(
        scope, prepared, source=str(path), added_by=added_by
    )
    assert document is not None, "duplicates raise"
    return document


async def _add_in_thread(library: Library, scope: int, path: Path, added_by: str) -> FileOutcome:
    prepared = await asyncio.to_thread(_prepare, path, library.analyzer, library.max_document_bytes)
    return await _store(library, scope, path, prepared, added_by)


async def _store(
    library: Library,
    scope: int,
    path: Path,
    prepared: PreparedDocument | _Refused,
    added_by: str,
) -> FileOutcome:
    if isinstance(prepared, _Refused):
        if prepared.details is not None:
            log.error("could not prepare %s:\n%s", path, prepared.details)
        return FileOutcome(path, error=prepared.message)
    try:
        document = await library.documents.add_prepared(
            scope, prepared, source=str(path), added_by=added_by
        )
    except DuplicateDocumentError as duplicate:
        return FileOutcome(path, error=duplicate.message, existing=duplicate.existing)
    except VerbatimError as error:
        return FileOutcome(path, error=error.message)
    return FileOutcome(path, document=document)


async def _store_group(
    library: Library,
    scope: int,
    group: Sequence[tuple[Path, PreparedDocument | _Refused]],
    added_by: str,
) -> list[FileOutcome]:
    """Store prepared files together (one transaction); each one's outcome, in file order."""
    documents = [
        (prepared, str(path)) for path, prepared in group if not isinstance(prepared, _Refused)
    ]
    if len(documents) <= 1:
        return [await _store(library, scope, path, prepared, added_by) for path, prepared in group]
    try:
        stored = iter(
            await library.documents.add_prepared_many(scope, documents, added_by=added_by)
        )
    except VerbatimError:
        # Nothing of the group was stored: each file then gets its own answer.
        return [await _store(library, scope, path, prepared, added_by) for path, prepared in group]
    outcomes = []
    for path, prepared in group:
        if isinstance(prepared, _Refused):
            outcomes.append(await _store(library, scope, path, prepared, added_by))
            continue
        document = next(stored)
        if isinstance(document, DuplicateDocumentError):
            outcomes.append(FileOutcome(path, error=document.message, existing=document.existing))
        else:
            outcomes.append(FileOutcome(path, document=document))
    return outcomes


# -- in the worker processes ----------------------------------------------------------------

_analyzer: Analyzer | None = None
_max_bytes: int | None = None


def _start_worker(max_bytes: int | None) -> None:
    global _analyzer, _max_bytes
    # Ctrl-C reaches the whole process group: the main process stops the pool, not the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _analyzer = Analyzer()
    _max_bytes = max_bytes


def _split_and_analyze(text: str) -> tuple[list[str], list[list[str]]]:
    assert _analyzer is not None, "the pool's initializer makes the analyzer"
    sentences = split_sentences(text)
    return sentences, list(map(_analyzer.analyze, sentences))


def _prepare_files(paths: list[str]) -> list[PreparedDocument | _Refused]:
    assert _analyzer is not None, "the pool's initializer makes the analyzer"
    return [_prepare(Path(path), _analyzer, _max_bytes) for path in paths]


def _prepare(path: Path, analyzer: Analyzer, max_bytes: int | None) -> PreparedDocument | _Refused:
    """A file read and prepared, or why not; never raises, so one file cannot stop the rest."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return _Refused(f"The file could not be read ({error.strerror or error}).")
    try:
        return prepare_document(
            data,
            filename=path.name,
            content_type=None,
            title=None,
            analyzer=analyzer,
            max_bytes=max_bytes,
        )
    except VerbatimError as error:
        return _Refused(error.message)
    except Exception as error:  # a parser's bug: this file fails, the others go on
        return _Refused(
            f"The file could not be read (unexpected {type(error).__name__}).",
            traceback.format_exc(),
        )
