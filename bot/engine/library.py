"""The engine both front ends share: documents in, cited answers out, everything logged."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import hashlib
import hmac
import logging
import secrets
import sys
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import nltk

from bot.config import PrivacySettings, RetrievalSettings
from bot.engine.batching import Batcher
from bot.engine.embeddings import Embeddings
from bot.errors import DocumentRejectedError, DuplicateDocumentError, InvalidQuestionError
from bot.store import (
    GLOBAL_SCOPE,
    AskedBefore,
    LoggedAnswer,
    NewDocument,
    Store,
    StoredDocument,
    StoredSentence,
)
from retrieval import (
    Analyzer,
    Answer,
    DocumentRef,
    ExtractionError,
    Sentence,
    SentenceIndex,
    answer_question,
    extract_text,
    split_sentences,
)
from retrieval.embedder import Embedder
from retrieval.extract import SUPPORTED_SUFFIXES
from retrieval.followup import answer_follow_up, needs_context
from retrieval.postings import Postings, Segment
from retrieval.reader import Reader
from retrieval.similar import most_similar

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TITLE_CHARS = 200
# How long a title made of a pasted text's first words may be.
_OPENING_TITLE_CHARS = 60
_SEEDED_KEY = "seeded"
_TERMS_ANALYZER_KEY = "terms_analyzer"
# The secret that keys user-id hashes; it lives in the database so hashes stay stable.
_USER_HASH_KEY = "user_hash_key"
# Indexes up to this size are precomputed before the question that built them is answered.
_PREPARE_INLINE_ROWS = 50_000
# A new document's segment is made on the event loop up to this many sentences (well under a
# millisecond per thousand), in a thread beyond.
_SEGMENT_INLINE_ROWS = 5_000
# Questions asked together, or while others are being answered, are answered together, this
# many at most per hand-off to the answering thread (a batch takes a few milliseconds). Each
# server's questions take turns in a batch (bot/engine/batching.py), and the answering thread is the
# library's own: a server's flood of questions, or documents being read, merged or indexed in
# the shared thread pool, never queue ahead of another server's question.
_ANSWER_BATCH = 16
# "Asked before" compares a question with this many of the server's latest answered ones.
_ASKED_BEFORE_LOOKBACK = 1000
# More segments than this in a scope (or a quarter of its rows removed) starts a merge.
_MAX_SEGMENTS = 8
# The same during a bulk add (merges_deferred): each merge then takes many documents at once.
_MAX_DEFERRED_SEGMENTS = 32


@dataclass(frozen=True, slots=True)
class AskResult:
    """An answer and the id of the log row that records it."""

    answer: Answer
    interaction_id: int
    latency_ms: float


# Text -> its sentences and each sentence's terms (see prepare_document).
SplitAndAnalyze = Callable[[str], tuple[list[str], list[list[str]]]]


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document read, split and analyzed, ready to store and index."""

    title: str
    kind: str
    content_hash: str
    sentences: list[str]
    # The sentences' postings, and their terms joined for the store's cache (None: a sentence
    # whose terms are not cached).
    postings: Postings
    joined_terms: list[str | None]


@dataclass(slots=True)
class _ScopeDocuments:
    """One scope's documents as index segments; each document lives in exactly one segment.

    An add appends a small segment and a removal marks rows dead in a copy of its segment, so
    both take effect at once; a background merge keeps the number of segments small.
    """

    segments: list[Segment] = field(default_factory=list)
    generation: int = 0
    merging: bool = False


class Library:
    """Documents per scope with their BM25 indexes in memory, backed by the store.

    A question in a scope searches that scope's documents together with the global ones
    (the seeds), never another scope's. Indexes are built from the store at start-up and
    updated in memory after every add, replace or remove, before the next question is answered.
    """

    def __init__(
        self,
        store: Store,
        settings: RetrievalSettings,
        analyzer: Analyzer | None = None,
        *,
        max_document_bytes: int | None = None,
        privacy: PrivacySettings | None = None,
        reader: Reader | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.store = store
        # None when settings.reader is off: answers then come from the words alone.
        self.reader = reader if settings.reader else None
        # The embedder's view needs the reader's: it is a signal the reading weighs.
        self.embeddings = (
            Embeddings(embedder)
            if embedder is not None and settings.semantic and self.reader is not None
            else None
        )
        self._decision = settings.decision()
        self.settings = settings
        self.analyzer = analyzer or Analyzer()
        self.max_document_bytes = max_document_bytes
        self.privacy = privacy or PrivacySettings()
        self._user_hash_key: bytes | None = None
        self._scopes: dict[int, _ScopeDocuments] = {}
        self._indexes: dict[int, tuple[int, int, SentenceIndex]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._finishing: set[asyncio.Task[Any]] = set()
        self._terms: dict[str, str] = {}
        # Held from a document's store write until its index segment is placed, so a removal
        # or replacement cannot land in between and be undone by a stale segment.
        self._changing: dict[int, asyncio.Lock] = {}
        # Scopes in a bulk add (see merges_deferred): how many bulk adds each is in.
        self._deferring: dict[int, int] = {}
        self._weights = settings.rerank_weights()
        self._answering: Batcher[Callable[[], object], object] = Batcher(
            self._run_in_turn, limit=_ANSWER_BATCH
        )
        # Made on first use; its idle thread ends with the library, or at exit.
        self._answer_thread: ThreadPoolExecutor | None = None
        # One document read at a time per scope: a server adding many at once fills one
        # thread of the shared pool, not all of them.
        self._preparing: dict[int, asyncio.Lock] = {}

    # -- start-up ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Read every scope's sentences from the store and build their indexes."""
        # Loading makes millions of long-lived objects: each would trigger full garbage
        # collections that scan them all (half the start-up time at 1M sentences). Pause the
        # collector meanwhile, then freeze what was loaded so later collections skip it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            await self._load()
        finally:
            if collecting:
                gc.enable()
            gc.freeze()

    async def _load(self) -> None:
        started = time.perf_counter()
        total = 0
        fingerprint = analyzer_fingerprint(self.analyzer)
        if await self.store.get_meta(_TERMS_ANALYZER_KEY) != fingerprint:
            await self.store.clear_sentence_terms()
            await self.store.set_meta(_TERMS_ANALYZER_KEY, fingerprint)
        for scope in await self.store.scopes():
            rows = await self.store.scope_sentences_with_terms(scope)
            segment, analyzed = await asyncio.to_thread(self._analyze_rows, rows)
            if analyzed:
                await self.store.save_sentence_terms(analyzed)
            self._scopes[scope] = _ScopeDocuments([segment])
            total += len(rows)
        for scope in self._scopes:
            await self.index(scope)
        self._embed_soon()
        log.info(
            "loaded %d sentences in %d scopes in %.2fs",
            total,
            len(self._scopes),
            time.perf_counter() - started,
        )

    async def seed(self, folder: Path) -> list[StoredDocument]:
        """Add the seed documents to the global scope of a database that has never had them."""
        if await self.store.get_meta(_SEEDED_KEY) is not None:
            return []
        added = []
        for path in supported_files(folder):
            document = await self.add_document(
                GLOBAL_SCOPE,
                path.read_bytes(),
                filename=path.name,
                source=f"seeds/{path.relative_to(folder).as_posix()}",
                added_by="seed",
                skip_duplicates=True,
            )
            if document is not None:
                added.append(document)
        await self.store.set_meta(_SEEDED_KEY, str(len(added)))
        return added

    # -- asking -----------------------------------------------------------------------------

    async def ask(
        self,
        question: str,
        *,
        scope: int,
        via: str,
        channel_id: str | None = None,
        user_id: str | None = None,
        top_k: int | None = None,
        min_confidence: float | None = None,
        earlier: str | None = None,
        link: str | None = None,
    ) -> AskResult:
        """Answer a question from the scope's and the global documents, and log it.

        `min_confidence` replaces retrieval.min_confidence for this question (a server's own).
        `earlier`: the question that started the conversation (a thread's first question); a
        follow-up that is short or leans on it is ranked with it (retrieval.followup). `link`:
        where the question can be seen, logged for "asked before" (see asked_before).
        """
        started = time.perf_counter()
        question = self.check_question(question)
        index = await self.index(scope)
        threshold = self.settings.min_confidence if min_confidence is None else min_confidence
        if earlier is not None and (
            earlier.strip() == question or not needs_context(question, self.analyzer)
        ):
            earlier = None
        if self.embeddings is not None:
            await self.embeddings.briefly()
        answer = await self.in_turn(
            scope,
            partial(
                self._answer,
                scope,
                question,
                index,
                top_k or self.settings.top_k,
                threshold,
                earlier,
            ),
        )
        latency_ms = (time.perf_counter() - started) * 1000
        interaction_id = await self.store.log_interaction(
            scope=scope,
            via=via,
            question=question,
            latency_ms=latency_ms,
            channel_id=channel_id,
            user_id=await self.user_key(user_id),
            link=link,
            answers=[
                LoggedAnswer(h.sentence.id, h.sentence.document.id, h.sentence.position, h.score)
                for h in answer.hits
            ],
        )
        return AskResult(answer, interaction_id, latency_ms)

    async def asked_before(
        self,
        scope: int,
        question: str,
        *,
        not_id: int,
        asker: str | None,
        answered: bool,
        not_in: str | None = None,
    ) -> AskedBefore | None:
        """An earlier question of this server that closely matches this one, with its link.

        Among the server's latest answered questions (and those of posts marked solved), by
        the analyzer and IDF the ranking uses (retrieval.similar); never another server's, and
        none in DMs, whose global scope every user shares. Left out: this question's log row
        (`not_id`), the asker's own questions, a channel's (`not_in`: the thread asked in),
        and, when the documents did not answer this one (`answered`), all but solved posts.
        """
        if scope == GLOBAL_SCOPE:
            return None
        asker = await self.user_key(asker)
        candidates = [
            each
            for each in await self.store.asked_before(scope, limit=_ASKED_BEFORE_LOOKBACK)
            if each.id != not_id
            and (asker is None or each.user_id != asker)
            and (not_in is None or each.channel_id != not_in)
            and (answered or each.solved)
        ]
        if not candidates:
            return None
        index = await self.index(scope)
        # Each term's IDF once per lookup: the same few terms recur across the questions.
        idf = functools.lru_cache(maxsize=None)(index.idf)
        return await asyncio.to_thread(
            most_similar,
            question,
            [(each, each.question) for each in candidates],
            self.analyzer,
            idf,
        )

    async def in_turn(self, scope: int, job: Callable[[], T]) -> T:
        """What `job` returns, run on the answering thread in the scope's turn (slow: no I/O).

        For a question's own work: answering it, and rendering its reply. The scopes with work
        waiting take turns, one job each per batch (see _ANSWER_BATCH).
        """
        return cast(T, await self._answering.submit(job, key=scope))

    async def _run_in_turn(self, jobs: list[Callable[[], object]]) -> list[object | Exception]:
        if self._answer_thread is None:
            self._answer_thread = ThreadPoolExecutor(1, thread_name_prefix="verbatim-answer")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._answer_thread, _run_each, jobs)

    def _answer(
        self,
        scope: int,
        question: str,
        index: SentenceIndex,
        top_k: int,
        min_confidence: float,
        earlier: str | None,
    ) -> Answer:
        if self.reader is None:
            # Without the reader, confidence is a share of the question's words: its own scale.
            min_confidence = self.settings.words_min_confidence
        # A server's own threshold (/settings threshold) is the reader's answer_at too.
        decision = dataclasses.replace(
            self._decision,
            answer_at=min_confidence,
            closest_at=min(self._decision.closest_at, min_confidence),
        )
        options: dict[str, Any] = {
            "top_k": top_k,
            "min_confidence": min_confidence,
            "context": self.settings.context,
            "weights": self._weights,
            "reader": self.reader,
            "decision": decision,
        }
        if self.embeddings is not None:
            # A follow-up leans on its thread's first question for meaning as for words.
            asked = question if earlier is None else f"{question}\n{earlier}"
            options["semantic"] = self.embeddings.meaning(scope, index, asked, decision.nearest)
        if earlier is None:
            return answer_question(question, index, self.analyzer, **options)
        return answer_follow_up(question, earlier, index, self.analyzer, **options)

    def check_question(self, question: str) -> str:
        """The question stripped of surrounding space; refuses empty and overlong questions."""
        question = _storable(question).strip()
        if not question:
            raise InvalidQuestionError("Ask a question: the text is empty.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidQuestionError(
                f"That question is {len(question):,} characters long; the limit is {limit:,}."
            )
        return question

    async def index(self, scope: int) -> SentenceIndex:
        """The index over this scope's and the global documents, current as of this call.

        Building it only gathers segments (no await in between, so it is consistent). Its
        per-posting contributions are precomputed in a thread: at once for small indexes, in
        the background for large ones, which meanwhile score exactly from term frequencies.
        """
        key = (self._generation(GLOBAL_SCOPE), self._generation(scope))
        cached = self._indexes.get(scope)
        if cached is not None and cached[:2] == key:
            return cached[2]
        index = SentenceIndex.from_segments(
            self._segments_of(scope), k1=self.settings.k1, b=self.settings.b
        )
        self._indexes[scope] = (*key, index)
        if len(index) <= _PREPARE_INLINE_ROWS:
            await self.in_turn(scope, index.prepare)
        else:
            self._in_background(asyncio.to_thread(index.prepare))
        return index

    async def settle(self) -> None:
        """Wait for background work (precomputing, merging, embedding) to finish."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self.embeddings is not None:
            await self.embeddings.settle()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background index work failed", exc_info=task.exception())

    def _generation(self, scope: int) -> int:
        documents = self._scopes.get(scope)
        return documents.generation if documents else 0

    def _segments_of(self, scope: int) -> list[Segment]:
        scopes = [GLOBAL_SCOPE] if scope == GLOBAL_SCOPE else [GLOBAL_SCOPE, scope]
        return [
            segment
            for each in scopes
            if each in self._scopes
            for segment in self._scopes[each].segments
        ]

    @asynccontextmanager
    async def merges_deferred(self, scope: int) -> AsyncIterator[None]:
        """Adds to the scope meanwhile merge segments less often; the last merge is awaited.

        Every added document is a segment of its own and crowded segments are merged in the
        background: across a bulk add of many small documents that would merge and re-merge
        the same rows over and over, on the cores preparing the next ones. Questions asked
        meanwhile search more segments, with the same exact scores.
        """
        self._deferring[scope] = self._deferring.get(scope, 0) + 1
        try:
            yield
        finally:
            self._deferring[scope] -= 1
            if not self._deferring[scope]:
                del self._deferring[scope]
                documents = self._scopes.get(scope)
                if documents is not None and not documents.merging and self._crowded(scope):
                    # Merged before the bulk add returns: its first question finds few segments.
                    documents.merging = True
                    await self._merge(scope)

    def _changed(self, scope: int) -> None:
        """Count a change to the scope, and merge its segments in the background if needed."""
        self._scopes[scope].generation += 1
        self._merge_if_crowded(scope)
        self._embed_soon()

    def _embed_soon(self) -> None:
        """Make the embedder's vectors of sentences that have none, in the background."""
        if self.embeddings is not None:
            self.embeddings.start(self._all_segments)

    def _all_segments(self) -> list[Segment]:
        return [segment for each in self._scopes.values() for segment in each.segments]

    def _merge_if_crowded(self, scope: int) -> None:
        documents = self._scopes[scope]
        if not documents.merging and self._crowded(scope):
            documents.merging = True
            self._in_background(self._merge(scope))

    def _crowded(self, scope: int) -> bool:
        documents = self._scopes[scope]
        limit = _MAX_DEFERRED_SEGMENTS if scope in self._deferring else _MAX_SEGMENTS
        rows = sum(len(segment) for segment in documents.segments)
        dead = sum(segment.dead_count for segment in documents.segments)
        return len(documents.segments) > limit or dead * 4 > rows

    async def _merge(self, scope: int) -> None:
        documents = self._scopes[scope]
        try:
            for _ in range(3):
                segments = list(documents.segments)
                start = _merge_from(segments)
                merged = await asyncio.to_thread(Segment.merge, segments[start:])
                current = documents.segments
                # Only additions may have landed meanwhile: they follow the merged ones.
                if all(a is b for a, b in zip(current, segments, strict=False)):
                    documents.segments = [
                        *segments[:start],
                        merged,
                        *current[len(segments) :],
                    ]
                    documents.generation += 1
                    return
        finally:
            documents.merging = False

    # -- documents --------------------------------------------------------------------------

    def prepare(
        self, data: bytes, *, filename: str | None, content_type: str | None, title: str | None
    ) -> PreparedDocument:
        """Extract, split and analyze a document (slow: call it in a thread)."""
        return prepare_document(
            data,
            filename=filename,
            content_type=content_type,
            title=title,
            analyzer=self.analyzer,
            max_bytes=self.max_document_bytes,
        )

    async def add_document(
        self,
        scope: int,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        title: str | None = None,
        source: str = "",
        added_by: str = "",
        skip_duplicates: bool = False,
    ) -> StoredDocument | None:
        """Read, split, store and index a document; the next question can be answered from it."""
        async with self._preparing.setdefault(scope, asyncio.Lock()):
            prepared = await asyncio.to_thread(
                self.prepare, data, filename=filename, content_type=content_type, title=title
            )
        return await self.add_prepared(
            scope, prepared, source=source, added_by=added_by, skip_duplicates=skip_duplicates
        )

    async def add_prepared(
        self,
        scope: int,
        prepared: PreparedDocument,
        *,
        source: str = "",
        added_by: str = "",
        skip_duplicates: bool = False,
    ) -> StoredDocument | None:
        """Store and index a prepared document (add_document's second half; bulk adds too)."""
        [result] = await self.add_prepared_many(scope, [(prepared, source)], added_by=added_by)
        if isinstance(result, DuplicateDocumentError):
            if skip_duplicates:
                return None
            raise result
        return result

    async def add_prepared_many(
        self,
        scope: int,
        documents: Sequence[tuple[PreparedDocument, str]],
        *,
        added_by: str = "",
    ) -> list[StoredDocument | DuplicateDocumentError]:
        """Store and index prepared documents (each with its source) in one transaction.

        Each gets, in order, what add_prepared would have given it: its stored document, or
        the DuplicateDocumentError refusing it (the content is in the scope already, or earlier
        among `documents`), while the rest are stored. The group is all or nothing: any other
        error stores none of them; a cancelled caller leaves the group to finish (stored and
        indexed, see _to_the_end). The same ids, sentences, terms and answers as adding them
        one by one, for a few trips to the store instead of a few per document.
        """
        return await self._to_the_end(self._add_group(scope, documents, added_by))

    async def _add_group(
        self, scope: int, documents: Sequence[tuple[PreparedDocument, str]], added_by: str
    ) -> list[StoredDocument | DuplicateDocumentError]:
        new = [
            NewDocument(
                p.title, source, p.kind, p.content_hash, added_by, p.sentences, p.joined_terms
            )
            for p, source in documents
        ]
        async with self._changing_lock(scope):
            results = await self.store.add_documents(scope, new)
            stored = [
                (result[0], prepared, result[1])
                for result, (prepared, _) in zip(results, documents, strict=True)
                if not isinstance(result, DuplicateDocumentError)
            ]
            if stored:
                await self._index_documents(scope, stored)
        return [r if isinstance(r, DuplicateDocumentError) else r[0] for r in results]

    async def replace_document(
        self,
        scope: int,
        document_id: int,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        title: str | None = None,
        source: str | None = None,
    ) -> StoredDocument:
        """Give a document new content (and optionally a new title or source), keeping its id."""
        existing = await self.store.get_document(scope, document_id)
        async with self._preparing.setdefault(scope, asyncio.Lock()):
            prepared = await asyncio.to_thread(
                self.prepare,
                data,
                filename=filename,
                content_type=content_type,
                title=title or existing.title,
            )
        return await self._to_the_end(self._replace(scope, existing, prepared, source))

    async def _replace(
        self,
        scope: int,
        existing: StoredDocument,
        prepared: PreparedDocument,
        source: str | None,
    ) -> StoredDocument:
        async with self._changing_lock(scope):
            document, ids = await self.store.replace_document(
                existing.id,
                scope=scope,
                title=prepared.title,
                source=existing.source if source is None else source,
                kind=prepared.kind,
                content_hash=prepared.content_hash,
                sentences=prepared.sentences,
                terms=prepared.joined_terms,
            )
            await self._index_documents(scope, [(document, prepared, ids)], replaced=document.id)
        return document

    async def remove_document(self, scope: int, document_id: int) -> StoredDocument:
        """Delete a document; the next question no longer sees it."""
        return await self._to_the_end(self._remove(scope, document_id))

    async def _remove(self, scope: int, document_id: int) -> StoredDocument:
        async with self._changing_lock(scope):
            document = await self.store.remove_document(scope, document_id)
            documents = self._scopes.get(scope)
            if documents is not None:
                documents.segments = [s.without(document_id) for s in documents.segments]
                self._changed(scope)
        return document

    async def _to_the_end(self, change: Coroutine[Any, Any, T]) -> T:
        """Run a change of the store and the index to its end, even if the caller is cancelled.

        Stopped between the store's commit and the index update (a Ctrl-C, a task cancelled),
        the index would disagree with the store until a restart: answering from a removed
        document, or never from an added one. The caller still sees its cancellation.
        """
        task = asyncio.ensure_future(change)
        self._finishing.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._finishing.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                log.error("a change whose caller was cancelled failed", exc_info=task.exception())
            raise

    def _changing_lock(self, scope: int) -> asyncio.Lock:
        return self._changing.setdefault(scope, asyncio.Lock())

    async def _index_documents(
        self,
        scope: int,
        stored: Sequence[tuple[StoredDocument, PreparedDocument, list[int]]],
        *,
        replaced: int | None = None,
    ) -> None:
        """Make stored documents' segment from their prepared postings and place it.

        The ids come from the transaction that stored the sentences, so the segment holds
        exactly what was stored, without reading it back. `replaced`: the id of a document
        whose old sentences the segment replaces.
        """
        if len(stored) == 1 and len(stored[0][2]) <= _SEGMENT_INLINE_ROWS:
            # Cheap (no analysis, no sorting): one object per sentence and two small arrays.
            segment = _segment_of(stored)
        else:
            segment = await asyncio.to_thread(_segment_of, stored)
        documents = self._scopes.setdefault(scope, _ScopeDocuments())
        kept = documents.segments
        if replaced is not None:
            # A replaced document keeps its id: its old sentences go, the new ones come.
            kept = [s.without(replaced) for s in kept]
        documents.segments = [s for s in kept if s.live_count or s.documents] + [segment]
        self._changed(scope)

    def _analyze_rows(
        self, rows: Sequence[tuple[StoredSentence, str | None]]
    ) -> tuple[Segment, list[tuple[int, str]]]:
        """A segment of stored sentences, and the analyses that were not cached yet."""
        sentences: list[Sentence] = []
        terms: list[list[str]] = []
        analyzed: list[tuple[int, str]] = []
        refs: dict[int, DocumentRef] = {}
        analyze = self.analyzer.analyze
        # One string object per distinct term, shared by every sentence and scope.
        canonical = self._terms.setdefault
        for row, cached in rows:
            ref = refs.get(row.document_id)
            if ref is None:
                ref = refs[row.document_id] = DocumentRef(row.document_id, row.title, row.source)
            sentences.append(Sentence(row.id, ref, row.position, row.text))
            if cached is not None:
                terms.append([canonical(t, t) for t in cached.split(" ")] if cached else [])
                continue
            found = analyze(row.text)
            terms.append(found)
            joined = " ".join(found)
            # Only cache what splits back exactly (an analyzer could emit terms with spaces).
            if joined.split(" ") == found or not found:
                analyzed.append((row.id, joined))
        return Segment.build(sentences, terms), analyzed

    # -- privacy ----------------------------------------------------------------------------

    async def user_key(self, user_id: str | None) -> str | None:
        """The id the log keeps for a user: as given, or a keyed hash when configured."""
        if user_id is None or not self.privacy.hash_user_ids:
            return user_id
        if self._user_hash_key is None:
            key = await self.store.get_or_set_meta(_USER_HASH_KEY, secrets.token_hex(32))
            self._user_hash_key = bytes.fromhex(key)
        return _hashed(self._user_hash_key, user_id)

    async def record_feedback(self, interaction_id: int, user_id: str, value: int) -> bool:
        """Record a user's 👍 (1) or 👎 (-1) on an answer; False if the log row is gone."""
        key = await self.user_key(user_id)
        assert key is not None
        return await self.store.record_feedback(interaction_id, key, value)

    async def forget_user(self, scope: int | None, user_id: str) -> int:
        """Delete a user's logged questions and feedback (scope None: everywhere).

        Rows are found under the plain id and under its hash, so hashing can be switched on or
        off without leaving anyone behind.
        """
        removed = await self.store.forget_user(scope, user_id)
        key = await self.store.get_meta(_USER_HASH_KEY)
        if key is not None:
            removed += await self.store.forget_user(scope, _hashed(bytes.fromhex(key), user_id))
        return removed

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete log rows older than the retention period (none when it is 0 days)."""
        days = self.privacy.retention_days
        if days <= 0:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        removed = await self.store.purge_log_before(cutoff.isoformat(timespec="milliseconds"))
        if removed:
            log.info("retention: deleted %d log rows older than %d days", removed, days)
        return removed

    async def keep_retention(self, every_seconds: float = 3600.0) -> None:
        """Apply the retention period now and then every interval, until cancelled."""
        while True:
            try:
                await self.purge_expired()
            except Exception:  # a failed purge must not stop the next one
                log.exception("retention purge failed")
            await asyncio.sleep(every_seconds)


def prepare_document(
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    title: str | None,
    analyzer: Analyzer,
    max_bytes: int | None = None,
    split_and_analyze: SplitAndAnalyze | None = None,
) -> PreparedDocument:
    """Extract, split and analyze a document: pure work, no store (slow: not on the loop).

    Library.prepare calls it in a thread; the bulk path (bot/engine/ingest.py) in worker processes.
    `split_and_analyze` (text -> sentences and their terms) replaces splitting with
    split_sentences and analyzing with `analyzer`; it must give what they give (bot/engine/ingest.py
    spreads a long text's paragraphs over worker processes).
    """
    limit = max_bytes
    if limit is not None and len(data) > limit:
        # Refused before any parsing: size is the cheapest defence against a hostile file.
        raise DocumentRejectedError(
            f"The file is {_size(len(data))}; the limit is {_size(limit)}. "
            "Split it into smaller documents."
        )
    try:
        extracted = extract_text(data, filename=filename, content_type=content_type)
    except ExtractionError as error:
        raise DocumentRejectedError(str(error)) from None
    if split_and_analyze is None:
        sentences = split_sentences(extracted.text)
        # Analyzed here, in the same hop: the store caches the terms with the sentences and
        # the index takes these postings, so nothing is read back or analyzed twice.
        terms = list(map(analyzer.analyze, sentences))
    else:
        sentences, terms = split_and_analyze(extracted.text)
    if not sentences:
        raise DocumentRejectedError("The document has no sentences to quote.")
    chosen = title or extracted.title or (Path(filename).stem if filename else "")
    chosen = "".join(ch for ch in _storable(chosen) if unicodedata.category(ch) != "Cc")
    chosen = " ".join(chosen.split())[:MAX_TITLE_CHARS] or _opening_words(sentences[0])
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
    return PreparedDocument(
        chosen,
        extracted.kind,
        digest,
        sentences,
        Postings.build(terms),
        list(map(_cacheable, terms)),
    )


def _run_each(jobs: Sequence[Callable[[], object]]) -> list[object | Exception]:
    """Each job's result, or the Exception it raised (for its caller alone)."""
    outcomes: list[object | Exception] = []
    for job in jobs:
        try:
            outcomes.append(job())
        except Exception as error:
            outcomes.append(error)
    return outcomes


def _segment_of(stored: Sequence[tuple[StoredDocument, PreparedDocument, list[int]]]) -> Segment:
    """One segment for stored documents: each one's own segment, merged if there are several."""
    segments = [
        Segment.of_document(
            DocumentRef(document.id, document.title, document.source),
            ids,
            prepared.sentences,
            prepared.postings,
        )
        for document, prepared, ids in stored
    ]
    return segments[0] if len(segments) == 1 else Segment.merge(segments)


def _opening_words(sentence: str) -> str:
    """A title for text that brings none (pasted text): its first words, not "Untitled"."""
    words = "".join(ch for ch in sentence if unicodedata.category(ch) != "Cc").split()
    title = ""
    for word in words:
        if len(title) + len(word) + 1 > _OPENING_TITLE_CHARS:
            return f"{title}…" if title else f"{word[:_OPENING_TITLE_CHARS]}…"
        title = f"{title} {word}" if title else word
    return title or "Untitled"


def _cacheable(terms: list[str]) -> str | None:
    """Terms joined for the store's cache; None if they would not split back exactly."""
    joined = " ".join(terms)
    return joined if not terms or joined.split(" ") == terms else None


def _storable(text: str) -> str:
    """Text SQLite can store: lone surrogates (from JSON escapes or argv) become '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _hashed(key: bytes, user_id: str) -> str:
    return "h:" + hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _size(count: int) -> str:
    if count < 1_000_000:
        return f"{count:,} bytes"
    return f"{count / 1_000_000:.1f} MB".replace(".0 MB", " MB")


def _merge_from(segments: Sequence[Segment]) -> int:
    """Where the merge starts: the newest segments, unless removals call for a full merge.

    Merging only the small recent segments (while they total less than the segment before
    them) keeps each row merged about log(n) times, not once per added document.
    """
    if any(segment.dead_count for segment in segments):
        return 0
    start = len(segments) - 1
    tail = len(segments[start])
    while start > 0 and len(segments[start - 1]) <= 2 * tail:
        start -= 1
        tail += len(segments[start])
    return max(0, min(start, len(segments) - 2))


def analyzer_fingerprint(analyzer: Analyzer) -> str:
    """Changes whenever the analyzer's code, stopwords or NLTK change: cached terms expire."""
    digest = hashlib.sha256()
    module = sys.modules[type(analyzer).__module__]
    source = getattr(module, "__file__", None)
    if source:
        digest.update(Path(source).read_bytes())
    digest.update(type(analyzer).__qualname__.encode())
    digest.update(repr(sorted(getattr(analyzer, "_stopwords", ()))).encode())
    digest.update(nltk.__version__.encode())
    return digest.hexdigest()


def supported_files(folder: Path) -> list[Path]:
    """Every file of a supported type under a folder (or the file itself), in name order."""
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
