"""Documents added, replaced and removed: the store and the in-memory index changed together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from bot.engine.documents import PreparedDocument, prepare_document
from bot.engine.indexes import ScopeIndexes
from bot.errors import DuplicateDocumentError
from bot.store import NewDocument, Store, StoredDocument
from retrieval import Analyzer

log = logging.getLogger(__name__)
T = TypeVar("T")


class DocumentChanges:
    """Adds, replaces and removes documents; the next question sees each change."""

    def __init__(
        self,
        store: Store,
        indexes: ScopeIndexes,
        analyzer: Analyzer,
        max_document_bytes: int | None,
    ) -> None:
        self.store = store
        self.indexes = indexes
        self.analyzer = analyzer
        self.max_document_bytes = max_document_bytes
        self._finishing: set[asyncio.Task[Any]] = set()
        # Held from a document's store write until its index segment is placed, so a removal
        # or replacement cannot land in between and be undone by a stale segment.
        self._changing: dict[int, asyncio.Lock] = {}
        # One document read at a time per scope: a server adding many at once fills one
        # thread of the shared pool, not all of them.
        self._preparing: dict[int, asyncio.Lock] = {}

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

    async def add(
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
        """Store and index a prepared document (add's second half; bulk adds too)."""
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
                await self.indexes.place(scope, stored)
        return [r if isinstance(r, DuplicateDocumentError) else r[0] for r in results]

    async def replace(
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
            await self.indexes.place(scope, [(document, prepared, ids)], replaced=document.id)
        return document

    async def remove(self, scope: int, document_id: int) -> StoredDocument:
        """Delete a document; the next question no longer sees it."""
        return await self._to_the_end(self._remove(scope, document_id))

    async def _remove(self, scope: int, document_id: int) -> StoredDocument:
        async with self._changing_lock(scope):
            document = await self.store.remove_document(scope, document_id)
            self.indexes.remove(scope, document_id)
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
