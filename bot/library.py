"""The engine both front ends share: documents in, cited answers out, everything logged."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.config import RetrievalSettings
from bot.errors import DocumentRejectedError, DuplicateDocumentError, InvalidQuestionError
from bot.store import GLOBAL_SCOPE, LoggedAnswer, Store, StoredDocument, StoredSentence
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
from retrieval.extract import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
_SEEDED_KEY = "seeded"


@dataclass(frozen=True, slots=True)
class AskResult:
    """An answer and the id of the log row that records it."""

    answer: Answer
    interaction_id: int
    latency_ms: float


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document read and split, ready to store."""

    title: str
    kind: str
    content_hash: str
    sentences: list[str]


@dataclass(slots=True)
class _ScopeDocuments:
    """The analyzed sentences of one scope's documents, by document id."""

    documents: dict[int, list[tuple[Sentence, list[str]]]]
    generation: int = 0


class Library:
    """Documents per scope with their BM25 indexes in memory, backed by the store.

    A question in a scope searches that scope's documents together with the global ones
    (the seeds), never another scope's. Indexes are rebuilt from the store at start-up and
    after every add, replace or remove, before the next question is answered.
    """

    def __init__(
        self, store: Store, settings: RetrievalSettings, analyzer: Analyzer | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.analyzer = analyzer or Analyzer()
        self._scopes: dict[int, _ScopeDocuments] = {}
        self._indexes: dict[int, tuple[int, int, SentenceIndex]] = {}
        self._build_locks: dict[int, asyncio.Lock] = {}

    # -- start-up ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Read every scope's sentences from the store and build their indexes."""
        started = time.perf_counter()
        total = 0
        for scope in await self.store.scopes():
            rows = await self.store.scope_sentences(scope)
            self._scopes[scope] = await asyncio.to_thread(self._analyze_rows, rows)
            total += len(rows)
        for scope in self._scopes:
            await self.index(scope)
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
    ) -> AskResult:
        """Answer a question from the scope's and the global documents, and log it."""
        started = time.perf_counter()
        question = self.check_question(question)
        index = await self.index(scope)
        answer = await asyncio.to_thread(
            answer_question,
            question,
            index,
            self.analyzer,
            top_k=top_k or self.settings.top_k,
            min_confidence=self.settings.min_confidence,
            context=self.settings.context,
        )
        latency_ms = (time.perf_counter() - started) * 1000
        interaction_id = await self.store.log_interaction(
            scope=scope,
            via=via,
            question=question,
            latency_ms=latency_ms,
            channel_id=channel_id,
            user_id=user_id,
            answers=[
                LoggedAnswer(h.sentence.id, h.sentence.document.id, h.sentence.position, h.score)
                for h in answer.hits
            ],
        )
        return AskResult(answer, interaction_id, latency_ms)

    def check_question(self, question: str) -> str:
        """The question stripped of surrounding space; refuses empty and overlong questions."""
        question = question.strip()
        if not question:
            raise InvalidQuestionError("Ask a question: the text is empty.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidQuestionError(
                f"That question is {len(question):,} characters long; the limit is {limit:,}."
            )
        return question

    async def index(self, scope: int) -> SentenceIndex:
        """The index over this scope's and the global documents, rebuilt if either changed."""
        while True:
            key = (self._generation(GLOBAL_SCOPE), self._generation(scope))
            cached = self._indexes.get(scope)
            if cached is not None and cached[:2] == key:
                return cached[2]
            lock = self._build_locks.setdefault(scope, asyncio.Lock())
            async with lock:
                cached = self._indexes.get(scope)
                if cached is not None and cached[:2] == key:
                    return cached[2]
                entries = self._entries(scope)
                index = await asyncio.to_thread(self._build, entries)
                # A change landed while building: build again from the new documents.
                if key == (self._generation(GLOBAL_SCOPE), self._generation(scope)):
                    self._indexes[scope] = (*key, index)
                    return index

    def _generation(self, scope: int) -> int:
        documents = self._scopes.get(scope)
        return documents.generation if documents else 0

    def _entries(self, scope: int) -> list[tuple[Sentence, list[str]]]:
        scopes = [GLOBAL_SCOPE] if scope == GLOBAL_SCOPE else [GLOBAL_SCOPE, scope]
        documents: list[tuple[int, list[tuple[Sentence, list[str]]]]] = []
        for each in scopes:
            if each in self._scopes:
                documents.extend(self._scopes[each].documents.items())
        # Document order (ids grow as documents are added) breaks ties between equal scores.
        documents.sort(key=lambda item: item[0])
        return [entry for _, entries in documents for entry in entries]

    def _build(self, entries: list[tuple[Sentence, list[str]]]) -> SentenceIndex:
        return SentenceIndex(
            [sentence for sentence, _ in entries],
            [terms for _, terms in entries],
            k1=self.settings.k1,
            b=self.settings.b,
        )

    # -- documents --------------------------------------------------------------------------

    def prepare(
        self, data: bytes, *, filename: str | None, content_type: str | None, title: str | None
    ) -> PreparedDocument:
        """Extract and split a document (slow: call it in a thread)."""
        try:
            extracted = extract_text(data, filename=filename, content_type=content_type)
        except ExtractionError as error:
            raise DocumentRejectedError(str(error)) from None
        sentences = split_sentences(extracted.text)
        if not sentences:
            raise DocumentRejectedError("The document has no sentences to quote.")
        chosen = title or extracted.title or (Path(filename).stem if filename else "") or "Untitled"
        chosen = " ".join(chosen.split())[:MAX_TITLE_CHARS] or "Untitled"
        digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
        return PreparedDocument(chosen, extracted.kind, digest, sentences)

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
        prepared = await asyncio.to_thread(
            self.prepare, data, filename=filename, content_type=content_type, title=title
        )
        if skip_duplicates:
            try:
                document = await self._store_new(scope, prepared, source, added_by)
            except DuplicateDocumentError:
                return None
        else:
            document = await self._store_new(scope, prepared, source, added_by)
        await self._index_document(document)
        return document

    async def _store_new(
        self, scope: int, prepared: PreparedDocument, source: str, added_by: str
    ) -> StoredDocument:
        return await self.store.add_document(
            scope=scope,
            title=prepared.title,
            source=source,
            kind=prepared.kind,
            content_hash=prepared.content_hash,
            added_by=added_by,
            sentences=prepared.sentences,
        )

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
        prepared = await asyncio.to_thread(
            self.prepare,
            data,
            filename=filename,
            content_type=content_type,
            title=title or existing.title,
        )
        document = await self.store.replace_document(
            document_id,
            scope=scope,
            title=prepared.title,
            source=existing.source if source is None else source,
            kind=prepared.kind,
            content_hash=prepared.content_hash,
            sentences=prepared.sentences,
        )
        await self._index_document(document)
        return document

    async def remove_document(self, scope: int, document_id: int) -> StoredDocument:
        """Delete a document; the next question no longer sees it."""
        document = await self.store.remove_document(scope, document_id)
        documents = self._scopes.get(scope)
        if documents is not None:
            documents.documents.pop(document_id, None)
            documents.generation += 1
        return document

    async def _index_document(self, document: StoredDocument) -> None:
        rows = await self.store.document_sentences(document.id)
        analyzed = await asyncio.to_thread(self._analyze_rows, rows)
        documents = self._scopes.setdefault(document.scope, _ScopeDocuments({}))
        documents.documents[document.id] = analyzed.documents.get(document.id, [])
        documents.generation += 1

    def _analyze_rows(self, rows: Iterable[StoredSentence]) -> _ScopeDocuments:
        documents: dict[int, list[tuple[Sentence, list[str]]]] = {}
        refs: dict[int, DocumentRef] = {}
        analyze = self.analyzer.analyze
        for row in rows:
            ref = refs.get(row.document_id)
            if ref is None:
                ref = refs[row.document_id] = DocumentRef(row.document_id, row.title, row.source)
            sentence = Sentence(row.id, ref, row.position, row.text)
            documents.setdefault(row.document_id, []).append((sentence, analyze(row.text)))
        return _ScopeDocuments(documents)


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
