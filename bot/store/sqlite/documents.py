"""Documents and their sentences (with each sentence's cached analyzed terms) in SQLite."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import aiosqlite

from bot.errors import DocumentNotFoundError, DuplicateDocumentError
from bot.store.records import NewDocument, StoredDocument, StoredSentence, utc_now
from bot.store.sqlite.base import SQLiteBase

T = TypeVar("T")

# Documents per multi-row statement in add_documents (nine values each, under SQLite's 32,766).
_DOCUMENTS_PER_STATEMENT = 500

# The columns of a StoredDocument, in its fields' order.
_DOCUMENT_COLUMNS = """
    id, scope, title, source, kind, content_hash, sentence_count, added_by, added_at, updated_at
"""
_DOCUMENT = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = ? AND scope = ?
"""
# {marks}: one ? per content hash.
_DOCUMENTS_WITH_CONTENT = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE scope = ? AND content_hash IN ({{marks}})
"""
_OTHER_DOCUMENT_WITH_CONTENT = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents
    WHERE scope = ? AND content_hash = ? AND id IS NOT ?
"""
# {rows}: one (?, ?, ?, ?, ?, ?, ?, ?, ?) per document.
_INSERT_DOCUMENTS = """
    INSERT INTO documents (scope, title, source, kind, content_hash,
                           sentence_count, added_by, added_at, updated_at)
    VALUES {rows}
    RETURNING id, content_hash
"""
_UPDATE_DOCUMENT = """
    UPDATE documents
    SET title = ?, source = ?, kind = ?, content_hash = ?, sentence_count = ?,
        updated_at = ?
    WHERE id = ?
"""
_DELETE_DOCUMENT = """
    DELETE FROM documents WHERE id = ?
"""
_LIST_DOCUMENTS = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE scope = ?
    ORDER BY id LIMIT ? OFFSET ?
"""
_COUNT_DOCUMENTS = """
    SELECT COUNT(*) FROM documents WHERE scope = ?
"""
_TITLED = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents
    WHERE scope = ? AND title = ? COLLATE NOCASE ORDER BY id
"""
_SEARCH_TITLES = f"""
    SELECT {_DOCUMENT_COLUMNS} FROM documents
    WHERE scope = ? AND title LIKE ? ESCAPE '\\' ORDER BY title COLLATE NOCASE LIMIT ?
"""
_SCOPES = """
    SELECT DISTINCT scope FROM documents ORDER BY scope
"""
_INSERT_SENTENCES = """
    INSERT INTO sentences (document_id, position, text) VALUES (?, ?, ?)
"""
# {marks}: one ? per document id. From the (document_id, position) index alone: no sentence
# text is read back.
_SENTENCE_IDS = """
    SELECT document_id, id FROM sentences
    WHERE document_id IN ({marks})
    ORDER BY document_id, position
"""
_DELETE_SENTENCES = """
    DELETE FROM sentences WHERE document_id = ?
"""
# LIMIT -1: no limit.
_DOCUMENT_SENTENCES = """
    SELECT s.id, d.id, d.title, d.source, d.kind, s.position, s.text
    FROM sentences s JOIN documents d ON d.id = s.document_id
    WHERE d.id = ? AND s.position >= ? ORDER BY s.position LIMIT ?
"""
_SCOPE_SENTENCES_WITH_TERMS = """
    SELECT s.id, d.id, d.title, d.source, d.kind, s.position, s.text, t.terms
    FROM sentences s JOIN documents d ON d.id = s.document_id
    LEFT JOIN sentence_terms t ON t.sentence_id = s.id
    WHERE d.scope = ? ORDER BY d.id, s.position
"""
_INSERT_TERMS = """
    INSERT INTO sentence_terms (sentence_id, terms) VALUES (?, ?)
"""
_SAVE_TERMS = """
    INSERT OR REPLACE INTO sentence_terms (sentence_id, terms)
    SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM sentences WHERE id = ?1)
"""
_CLEAR_TERMS = """
    DELETE FROM sentence_terms
"""


class Documents(SQLiteBase):
    """Adding, replacing, removing and finding documents; reading their sentences."""

    async def add_document(
        self,
        *,
        scope: int,
        title: str,
        source: str,
        kind: str,
        content_hash: str,
        added_by: str,
        sentences: Sequence[str],
        terms: Sequence[str | None] | None = None,
    ) -> tuple[StoredDocument, list[int]]:
        """Store a document and its sentences in one transaction; the sentences' ids in order.

        `terms`, if given, caches each sentence's analyzed terms (space-joined; None: not
        cached) in the same transaction. Raises DuplicateDocumentError when the same content
        is already in the scope. The ids are read inside that transaction, so the caller can
        index exactly what was stored without reading the sentences back.
        """
        document = NewDocument(title, source, kind, content_hash, added_by, sentences, terms)
        [stored] = await self.add_documents(scope, [document])
        if isinstance(stored, DuplicateDocumentError):
            raise stored
        return stored

    async def add_documents(
        self, scope: int, documents: Sequence[NewDocument]
    ) -> list[tuple[StoredDocument, list[int]] | DuplicateDocumentError]:
        """Store several documents and their sentences in ONE transaction, all or nothing.

        One entry per document, in order: what add_document returns for it (the stored
        document and its sentences' ids in order), or the DuplicateDocumentError it would have
        raised, unstored, when the same content is already in the scope or earlier in
        `documents`; the others are stored all the same. Any other error rolls back the whole
        group. A handful of trips to the writer's thread for the whole group, not per document.
        """
        now = utc_now()
        # The first document of each content is stored; later ones are its duplicates.
        first: dict[str, int] = {}
        for number, document in enumerate(documents):
            first.setdefault(document.content_hash, number)
        stored: dict[str, StoredDocument] = {}
        refused: dict[str, DuplicateDocumentError] = {}
        async with self._transaction() as db:
            # Looked up first, not left to UNIQUE (scope, content_hash) to refuse: a refused
            # INSERT would still use up an id, and ids must be those of adding one by one.
            for chunk in _chunks(list(first)):
                rows = await db.execute_fetchall(
                    _DOCUMENTS_WITH_CONTENT.format(marks=_marks(len(chunk))), (scope, *chunk)
                )
                for row in rows:
                    refused[row[5]] = DuplicateDocumentError(StoredDocument(*row))
            for chunk in _chunks([documents[n] for h, n in first.items() if h not in refused]):
                returned = await db.execute_fetchall(
                    _INSERT_DOCUMENTS.format(
                        rows=", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    ),
                    [
                        value
                        for d in chunk
                        for value in (
                            scope,
                            d.title,
                            d.source,
                            d.kind,
                            d.content_hash,
                            len(d.sentences),
                            d.added_by,
                            now,
                            now,
                        )
                    ],
                )
                for document_id, content_hash in returned:
                    d = documents[first[content_hash]]
                    stored[content_hash] = StoredDocument(
                        document_id,
                        scope,
                        d.title,
                        d.source,
                        d.kind,
                        content_hash,
                        len(d.sentences),
                        d.added_by,
                        now,
                        now,
                    )
            new = [documents[n] for h, n in first.items() if h in stored]
            ids = await _insert_sentences(
                db, [(stored[d.content_hash].id, d.sentences, d.terms) for d in new]
            )
        results: list[tuple[StoredDocument, list[int]] | DuplicateDocumentError] = []
        for number, document in enumerate(documents):
            content_hash = document.content_hash
            if content_hash in refused:  # in the scope before this group
                results.append(refused[content_hash])
            elif first[content_hash] == number:
                results.append((stored[content_hash], ids[stored[content_hash].id]))
            else:  # the same content earlier in this group
                results.append(DuplicateDocumentError(stored[content_hash]))
        return results

    async def replace_document(
        self,
        document_id: int,
        *,
        scope: int,
        title: str,
        source: str,
        kind: str,
        content_hash: str,
        sentences: Sequence[str],
        terms: Sequence[str | None] | None = None,
    ) -> tuple[StoredDocument, list[int]]:
        """Swap a document's content for new content, keeping its id, in one transaction.

        Returns the document and its new sentences' ids in order, as add_document does.
        """
        now = utc_now()
        async with self._transaction() as db:
            existing = await _document(db, scope, document_id)
            await _refuse_duplicate(db, scope, content_hash, except_id=document_id)
            await db.execute(_DELETE_SENTENCES, (document_id,))
            await db.execute(
                _UPDATE_DOCUMENT,
                (title, source, kind, content_hash, len(sentences), now, document_id),
            )
            [ids] = (await _insert_sentences(db, [(document_id, sentences, terms)])).values()
        document = dataclasses.replace(
            existing,
            title=title,
            source=source,
            kind=kind,
            content_hash=content_hash,
            sentence_count=len(sentences),
            updated_at=now,
        )
        return document, ids

    async def remove_document(self, scope: int, document_id: int) -> StoredDocument:
        """Delete a document of this scope and its sentences."""
        async with self._transaction() as db:
            existing = await _document(db, scope, document_id)
            await db.execute(_DELETE_DOCUMENT, (document_id,))
        await self._give_back_space()
        return existing

    async def get_document(self, scope: int, document_id: int) -> StoredDocument:
        """A document of this scope; DocumentNotFoundError if it is not there."""
        return await _document(self._reader, scope, document_id)

    async def list_documents(
        self, scope: int, *, limit: int = 1000, offset: int = 0
    ) -> list[StoredDocument]:
        """The scope's documents, oldest first."""
        async with self._reader.execute(_LIST_DOCUMENTS, (scope, limit, offset)) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def count_documents(self, scope: int) -> int:
        """How many documents the scope has."""
        async with self._reader.execute(_COUNT_DOCUMENTS, (scope,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def titled(self, scope: int, title: str) -> list[StoredDocument]:
        """Documents of the scope titled exactly this, ignoring case."""
        async with self._reader.execute(_TITLED, (scope, title)) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def search_titles(
        self, scope: int, fragment: str, limit: int = 25
    ) -> list[StoredDocument]:
        """Documents of the scope whose title contains the fragment (for autocomplete)."""
        pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self._reader.execute(_SEARCH_TITLES, (scope, pattern, limit)) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def scopes(self) -> list[int]:
        """Every scope that has documents."""
        async with self._reader.execute(_SCOPES) as cur:
            return [int(row[0]) async for row in cur]

    async def document_sentences(
        self, document_id: int, start: int = 1, limit: int | None = None
    ) -> list[StoredSentence]:
        """One document's sentences in order, from position `start`, at most `limit` (None: all)."""
        async with self._reader.execute(
            _DOCUMENT_SENTENCES, (document_id, start, -1 if limit is None else limit)
        ) as cur:
            return [StoredSentence(*row) for row in await cur.fetchall()]

    async def scope_sentences_with_terms(
        self, scope: int
    ) -> list[tuple[StoredSentence, str | None]]:
        """Every sentence of a scope in order, with its cached analyzed terms (None if absent)."""
        async with self._reader.execute(_SCOPE_SENTENCES_WITH_TERMS, (scope,)) as cur:
            return [(StoredSentence(*row[:7]), row[7]) for row in await cur.fetchall()]

    async def save_sentence_terms(self, terms: Sequence[tuple[int, str]]) -> None:
        """Cache analyzed terms (sentence id, space-joined terms); sentences gone are skipped."""
        async with self._transaction() as db:
            await db.executemany(_SAVE_TERMS, terms)

    async def clear_sentence_terms(self) -> None:
        """Forget every cached analysis (the analyzer changed)."""
        async with self._transaction() as db:
            await db.execute(_CLEAR_TERMS)


async def _insert_sentences(
    db: aiosqlite.Connection,
    documents: Sequence[tuple[int, Sequence[str], Sequence[str | None] | None]],
) -> dict[int, list[int]]:
    """Documents' sentences, and their cached terms when given, inside a transaction.

    `documents` holds (document id, sentences, terms or None) each. Returns each document's
    sentence ids in position order: a trip to the connection's thread per statement, not
    per document.
    """
    for _, sentences, terms in documents:
        if terms is not None and len(terms) != len(sentences):
            raise ValueError("every sentence needs its terms")
    await db.executemany(
        _INSERT_SENTENCES,
        [
            (document_id, position, text)
            for document_id, sentences, _ in documents
            for position, text in enumerate(sentences, 1)
        ],
    )
    ids: dict[int, list[int]] = {document_id: [] for document_id, _, _ in documents}
    for chunk in _chunks(list(ids)):
        # execute_fetchall: one trip to the connection's thread instead of three.
        rows = await db.execute_fetchall(_SENTENCE_IDS.format(marks=_marks(len(chunk))), chunk)
        for document_id, sentence_id in rows:
            ids[document_id].append(sentence_id)
    cached = [
        (sentence_id, joined)
        for document_id, _, terms in documents
        if terms is not None
        for sentence_id, joined in zip(ids[document_id], terms, strict=True)
        if joined is not None
    ]
    if cached:
        await db.executemany(_INSERT_TERMS, cached)
    return ids


def _chunks(items: list[T], size: int = _DOCUMENTS_PER_STATEMENT) -> list[list[T]]:
    """Items in slices small enough for one statement's variables."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def _marks(count: int) -> str:
    """As many ? as values, for an IN (...) list."""
    return ", ".join(["?"] * count)


async def _document(db: aiosqlite.Connection, scope: int, document_id: int) -> StoredDocument:
    async with db.execute(_DOCUMENT, (document_id, scope)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise DocumentNotFoundError(document_id)
    return StoredDocument(*row)


async def _refuse_duplicate(
    db: aiosqlite.Connection, scope: int, content_hash: str, except_id: int | None
) -> None:
    # One trip to the connection's thread (execute, fetch and close would be three).
    rows = await db.execute_fetchall(_OTHER_DOCUMENT_WITH_CONTENT, (scope, content_hash, except_id))
    existing = next(iter(rows), None)
    if existing is not None:
        raise DuplicateDocumentError(StoredDocument(*existing))
