"""The Store on an SQLite file: parameterised SQL, numbered migrations, atomic writes."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Self, TypeVar

import aiosqlite

from bot.batching import Batcher
from bot.errors import DatabaseUnusableError, DocumentNotFoundError, DuplicateDocumentError
from bot.store.records import (
    AskedBefore,
    InteractionRecord,
    LoggedAnswer,
    NewDocument,
    SettingChange,
    Stats,
    StoredDocument,
    StoredSentence,
    utc_now,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# How long a write waits for another connection's lock before "database is locked".
_BUSY_SECONDS = 10.0
# PRAGMA auto_vacuum's value for INCREMENTAL: freed pages go back to the disk when asked.
_INCREMENTAL = 2
# Where the messages about an unusable database send the user to pick another file.
_CHOOSE_ANOTHER = "choose another database file with --db, VERBATIM_DB or storage.database"

_DOCUMENT_COLUMNS = """
    id, scope, title, source, kind, content_hash, sentence_count, added_by, added_at, updated_at
"""
_INSERT_SENTENCES = """
    INSERT INTO sentences (document_id, position, text) VALUES (?, ?, ?)
"""
# Documents per multi-row statement in add_documents (nine values each, under SQLite's 32,766).
_DOCUMENTS_PER_STATEMENT = 500
# Log rows written together at most (ten values each, well under SQLite's 32,766 variables).
_LOG_BATCH = 200
# asked_at, scope, channel_id, user_id, via, question, answered, answers, latency_ms, link
_InteractionRow = tuple[str, int, str | None, str | None, str, str, bool, str, float, str | None]
_INTERACTION_COLUMNS = """
    i.id, i.asked_at, i.scope, i.channel_id, i.user_id, i.via, i.question, i.answered,
    i.answers, i.latency_ms,
    COALESCE((SELECT SUM(value = 1) FROM feedback f WHERE f.interaction_id = i.id), 0),
    COALESCE((SELECT SUM(value = -1) FROM feedback f WHERE f.interaction_id = i.id), 0)
"""


class SQLiteStore:
    """The Store (bot.store.interface) on an SQLite file; opened with `SQLiteStore.open`.

    Writes go through one connection behind a lock, each in its own transaction, so a crash
    mid-write leaves nothing half done; reads use a second connection and, thanks to WAL, see
    only committed data and never wait for a writer.
    """

    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._logging = Batcher(self._insert_interactions, limit=_LOG_BATCH)

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[Self]:
        """Open (creating and migrating if needed) the database at `path`.

        A file that cannot be opened, created or used (not a database, damaged, locked by
        another program for longer than we wait, read-only, in a folder that cannot be made)
        raises DatabaseUnusableError saying what to do, whether on opening or later in the
        body, once everything opened is closed again.
        """
        path = Path(path)
        try:
            async with _connections(path) as (writer, reader):
                yield cls(path, writer, reader)
        except sqlite3.DatabaseError as error:
            unusable = _unusable(path, error)
            if unusable is None:
                raise
            raise unusable from error

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    # -- meta ---------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A value from the key-value meta table."""
        async with self._reader.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Set a value in the key-value meta table."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def get_or_set_meta(self, key: str, default: str) -> str:
        """The meta value for a key, storing `default` first if there is none (first one wins)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, default),
            )
            async with db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
        assert row is not None
        return str(row[0])

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self._reader.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    # -- server settings ------------------------------------------------------------------

    async def server_settings(self) -> list[tuple[int, str, str]]:
        """Every server's own settings: (scope, key, JSON value)."""
        async with self._reader.execute(
            "SELECT scope, key, value FROM server_settings ORDER BY scope, key"
        ) as cur:
            return [(int(row[0]), str(row[1]), str(row[2])) async for row in cur]

    async def change_server_setting(
        self, scope: int, key: str, value: str | None, changed_by: str
    ) -> None:
        """Set (JSON `value`) or clear (None) a server's setting, and log who did it, at once."""
        async with self._transaction() as db:
            if value is None:
                await db.execute(
                    "DELETE FROM server_settings WHERE scope = ? AND key = ?", (scope, key)
                )
            else:
                await db.execute(
                    "INSERT INTO server_settings (scope, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                    (scope, key, value),
                )
            await db.execute(
                "INSERT INTO settings_changes (scope, key, value, changed_by, changed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (scope, key, value, changed_by, utc_now()),
            )

    async def setting_changes(self, scope: int, limit: int = 10) -> list[SettingChange]:
        """A server's latest settings changes, newest first."""
        async with self._reader.execute(
            "SELECT scope, key, value, changed_by, changed_at FROM settings_changes "
            "WHERE scope = ? ORDER BY id DESC LIMIT ?",
            (scope, limit),
        ) as cur:
            return [SettingChange(*row) async for row in cur]

    # -- documents ----------------------------------------------------------------------

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
                    f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE scope = ? "
                    f"AND content_hash IN ({', '.join(['?'] * len(chunk))})",
                    (scope, *chunk),
                )
                for row in rows:
                    refused[row[5]] = DuplicateDocumentError(StoredDocument(*row))
            for chunk in _chunks([documents[n] for h, n in first.items() if h not in refused]):
                returned = await db.execute_fetchall(
                    f"""
                    INSERT INTO documents (scope, title, source, kind, content_hash,
                                           sentence_count, added_by, added_at, updated_at)
                    VALUES {", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))}
                    RETURNING id, content_hash
                    """,
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
            await db.execute("DELETE FROM sentences WHERE document_id = ?", (document_id,))
            await db.execute(
                """
                UPDATE documents
                SET title = ?, source = ?, kind = ?, content_hash = ?, sentence_count = ?,
                    updated_at = ?
                WHERE id = ?
                """,
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
            await db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        await self._give_back_space()
        return existing

    async def get_document(self, scope: int, document_id: int) -> StoredDocument:
        """A document of this scope; DocumentNotFoundError if it is not there."""
        return await _document(self._reader, scope, document_id)

    async def list_documents(
        self, scope: int, *, limit: int = 1000, offset: int = 0
    ) -> list[StoredDocument]:
        """The scope's documents, oldest first."""
        async with self._reader.execute(
            f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE scope = ? "
            "ORDER BY id LIMIT ? OFFSET ?",
            (scope, limit, offset),
        ) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def count_documents(self, scope: int) -> int:
        """How many documents the scope has."""
        async with self._reader.execute(
            "SELECT COUNT(*) FROM documents WHERE scope = ?", (scope,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def titled(self, scope: int, title: str) -> list[StoredDocument]:
        """Documents of the scope titled exactly this, ignoring case."""
        async with self._reader.execute(
            f"""
            SELECT {_DOCUMENT_COLUMNS} FROM documents
            WHERE scope = ? AND title = ? COLLATE NOCASE ORDER BY id
            """,
            (scope, title),
        ) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def search_titles(
        self, scope: int, fragment: str, limit: int = 25
    ) -> list[StoredDocument]:
        """Documents of the scope whose title contains the fragment (for autocomplete)."""
        pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        async with self._reader.execute(
            f"""
            SELECT {_DOCUMENT_COLUMNS} FROM documents
            WHERE scope = ? AND title LIKE ? ESCAPE '\\' ORDER BY title COLLATE NOCASE LIMIT ?
            """,
            (scope, pattern, limit),
        ) as cur:
            return [StoredDocument(*row) async for row in cur]

    async def scopes(self) -> list[int]:
        """Every scope that has documents."""
        async with self._reader.execute(
            "SELECT DISTINCT scope FROM documents ORDER BY scope"
        ) as cur:
            return [int(row[0]) async for row in cur]

    async def document_sentences(
        self, document_id: int, start: int = 1, limit: int | None = None
    ) -> list[StoredSentence]:
        """One document's sentences in order, from position `start`, at most `limit` (None: all)."""
        async with self._reader.execute(
            """
            SELECT s.id, d.id, d.title, d.source, s.position, s.text
            FROM sentences s JOIN documents d ON d.id = s.document_id
            WHERE d.id = ? AND s.position >= ? ORDER BY s.position LIMIT ?
            """,
            (document_id, start, -1 if limit is None else limit),  # LIMIT -1: no limit
        ) as cur:
            return [StoredSentence(*row) for row in await cur.fetchall()]

    async def scope_sentences_with_terms(
        self, scope: int
    ) -> list[tuple[StoredSentence, str | None]]:
        """Every sentence of a scope in order, with its cached analyzed terms (None if absent)."""
        async with self._reader.execute(
            """
            SELECT s.id, d.id, d.title, d.source, s.position, s.text, t.terms
            FROM sentences s JOIN documents d ON d.id = s.document_id
            LEFT JOIN sentence_terms t ON t.sentence_id = s.id
            WHERE d.scope = ? ORDER BY d.id, s.position
            """,
            (scope,),
        ) as cur:
            return [(StoredSentence(*row[:6]), row[6]) for row in await cur.fetchall()]

    async def save_sentence_terms(self, terms: Sequence[tuple[int, str]]) -> None:
        """Cache analyzed terms (sentence id, space-joined terms); sentences gone are skipped."""
        async with self._transaction() as db:
            await db.executemany(
                """
                INSERT OR REPLACE INTO sentence_terms (sentence_id, terms)
                SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM sentences WHERE id = ?1)
                """,
                terms,
            )

    async def clear_sentence_terms(self) -> None:
        """Forget every cached analysis (the analyzer changed)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM sentence_terms")

    # -- the interaction log --------------------------------------------------------------

    async def log_interaction(
        self,
        *,
        scope: int,
        via: str,
        question: str,
        answers: Sequence[LoggedAnswer],
        latency_ms: float,
        channel_id: str | None = None,
        user_id: str | None = None,
        link: str | None = None,
    ) -> int:
        """Record a question and what was answered; returns the interaction id.

        `link`: where the question can be seen (a message's or forum post's jump URL).

        Questions logged while an earlier one is being written are written together, in one
        INSERT (its own transaction, committed before any of them returns).
        """
        payload = json.dumps(
            [
                {
                    "sentence_id": a.sentence_id,
                    "document_id": a.document_id,
                    "position": a.position,
                    "score": a.score,
                }
                for a in answers
            ]
        )
        row = (
            utc_now(),
            scope,
            channel_id,
            user_id,
            via,
            question,
            bool(answers),
            payload,
            latency_ms,
            link,
        )
        return await self._logging.submit(row)

    async def _insert_interactions(self, rows: list[_InteractionRow]) -> list[int | Exception]:
        """Write log rows in one statement; their ids in the rows' order.

        In autocommit mode one statement is its own transaction, in one trip to the writer's
        thread. Its rows are inserted in order, and AUTOINCREMENT gives each a larger id than
        the last, so the returned ids sorted are the rows' ids in order.
        """
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        async with self._write_lock:
            returned = await self._writer.execute_fetchall(
                f"""
                INSERT INTO interactions (asked_at, scope, channel_id, user_id, via, question,
                                          answered, answers, latency_ms, link)
                VALUES {values}
                RETURNING id
                """,
                [value for row in rows for value in row],
            )
        return sorted(row[0] for row in returned)

    async def first_question(self, scope: int, channel_id: str) -> str | None:
        """The first question logged in a channel or thread of the scope, or None."""
        async with self._reader.execute(
            "SELECT question FROM interactions WHERE scope = ? AND channel_id = ? "
            "ORDER BY id LIMIT 1",
            (scope, channel_id),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def record_feedback(self, interaction_id: int, user_id: str, value: int) -> bool:
        """Record (or change) one user's 👍 (1) or 👎 (-1); False if the interaction is gone."""
        if value not in (1, -1):
            raise ValueError("feedback is 1 or -1")
        async with self._transaction() as db:
            async with db.execute(
                "SELECT 1 FROM interactions WHERE id = ?", (interaction_id,)
            ) as cur:
                if await cur.fetchone() is None:
                    return False
            await db.execute(
                """
                INSERT INTO feedback (interaction_id, user_id, value, given_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (interaction_id, user_id)
                DO UPDATE SET value = excluded.value, given_at = excluded.given_at
                """,
                (interaction_id, user_id, value, utc_now()),
            )
        return True

    async def set_link(self, interaction_id: int, link: str) -> None:
        """Where a logged question can be seen, once known (the reply to a slash command)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE interactions SET link = ? WHERE id = ?", (link, interaction_id)
            )

    async def asked_before(self, scope: int, *, limit: int) -> list[AskedBefore]:
        """The scope's latest linkable questions that were answered (or asked in a solved post).

        Newest first; only questions logged with a link.
        """
        # One trip to the reader's thread for all of them (a cursor's rows come one by one).
        rows = await self._reader.execute_fetchall(
            """
            SELECT i.id, i.question, i.link, i.channel_id, i.user_id,
                   EXISTS (SELECT 1 FROM solved_posts s WHERE s.thread_id = i.channel_id)
            FROM interactions i
            WHERE i.scope = ? AND i.link IS NOT NULL AND (
                i.answered = 1
                OR EXISTS (SELECT 1 FROM solved_posts s WHERE s.thread_id = i.channel_id))
            ORDER BY i.id DESC LIMIT ?
            """,
            (scope, limit),
        )
        return [AskedBefore(*row[:5], solved=bool(row[5])) for row in rows]

    async def hand_off_once(self, interaction_id: int) -> bool:
        """Note that the support role was called in for an answer; False if it was already."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO hand_offs (interaction_id, called_at) "
                "SELECT id, ? FROM interactions WHERE id = ? "
                "ON CONFLICT (interaction_id) DO NOTHING",
                (utc_now(), interaction_id),
            )
        return cursor.rowcount == 1

    async def post_answer(self, scope: int, channel_id: str) -> int | None:
        """The first answer the bot gave in a thread (a forum post), as its log row id."""
        async with self._reader.execute(
            "SELECT id FROM interactions WHERE scope = ? AND channel_id = ? AND answered = 1 "
            "ORDER BY id LIMIT 1",
            (scope, channel_id),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def mark_solved(
        self, thread_id: str, scope: int, interaction_id: int | None, solved_by: str
    ) -> bool:
        """Log a forum post as solved, crediting an answer (or none); False if it already was."""
        async with self._transaction() as db:
            if interaction_id is not None:
                # Only an answer of this server, and one still in the log, is credited.
                async with db.execute(
                    "SELECT 1 FROM interactions WHERE id = ? AND scope = ?",
                    (interaction_id, scope),
                ) as cur:
                    if await cur.fetchone() is None:
                        interaction_id = None
            cursor = await db.execute(
                "INSERT INTO solved_posts (thread_id, scope, interaction_id, solved_by, solved_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
                (thread_id, scope, interaction_id, solved_by, utc_now()),
            )
        return cursor.rowcount == 1

    async def get_interaction(self, interaction_id: int) -> InteractionRecord | None:
        """One logged interaction, or None."""
        async with self._reader.execute(
            f"SELECT {_INTERACTION_COLUMNS} FROM interactions i WHERE i.id = ?", (interaction_id,)
        ) as cur:
            row = await cur.fetchone()
        return _interaction(row) if row else None

    async def interactions(
        self,
        scope: int | None,
        *,
        limit: int = 20,
        unanswered: bool = False,
        rated: bool = False,
        since: str | None = None,
        before: int | None = None,
    ) -> list[InteractionRecord]:
        """Logged interactions, newest first; scope None means every scope (the CLI's view).

        `before` keeps those older than that interaction id (where an earlier page ended).
        """
        clauses, params = _log_filter(scope, since)
        if before is not None:
            clauses.append("i.id < ?")
            params.append(before)
        if unanswered:
            clauses.append("i.answered = 0")
        if rated:
            clauses.append("EXISTS (SELECT 1 FROM feedback f WHERE f.interaction_id = i.id)")
        where = " AND ".join(clauses) or "1"
        async with self._reader.execute(
            f"SELECT {_INTERACTION_COLUMNS} FROM interactions i WHERE {where} "
            "ORDER BY i.id DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            rows = await cur.fetchall()
        # Decoding each row's answers is CPU work: 20,000 rows (an export) take about 0.4 s.
        return await asyncio.to_thread(lambda: [_interaction(row) for row in rows])

    async def stats(self, scope: int | None, *, since: str | None = None) -> Stats:
        """Questions, answered questions and feedback counts since a time."""
        clauses, params = _log_filter(scope, since)
        where = " AND ".join(clauses) or "1"
        async with self._reader.execute(
            f"""
            SELECT COUNT(*), COALESCE(SUM(i.answered), 0),
                   (SELECT COUNT(*) FROM feedback f JOIN interactions i ON i.id = f.interaction_id
                    WHERE {where} AND f.value = 1),
                   (SELECT COUNT(*) FROM feedback f JOIN interactions i ON i.id = f.interaction_id
                    WHERE {where} AND f.value = -1)
            FROM interactions i WHERE {where}
            """,
            (*params, *params, *params),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        # Helpful: answers with a 👍, or that a solved post credits (asked in the period).
        solved = [
            c for c, v in (("s.scope = ?", scope), ("s.solved_at >= ?", since)) if v is not None
        ]
        solved_where = " AND ".join(solved) or "1"
        async with self._reader.execute(
            f"""
            SELECT (SELECT COUNT(*) FROM interactions i WHERE {where} AND i.answered = 1 AND (
                        EXISTS (SELECT 1 FROM feedback f
                                WHERE f.interaction_id = i.id AND f.value = 1)
                        OR EXISTS (SELECT 1 FROM solved_posts s WHERE s.interaction_id = i.id))),
                   (SELECT COUNT(*) FROM solved_posts s WHERE {solved_where})
            """,
            (*params, *[v for v in (scope, since) if v is not None]),
        ) as cur:
            more = await cur.fetchone()
        assert more is not None
        return Stats(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(more[0]), int(more[1]))

    async def forget_user(self, scope: int | None, user_id: str) -> int:
        """Delete a user's logged questions (and feedback); returns how many were removed."""
        clauses, params = _log_filter(scope, None)
        in_scope = " AND ".join(clauses) or "1"
        clauses.append("user_id = ?")
        async with self._transaction() as db:
            # Their votes on answers in this scope only: another server's log is not ours.
            await db.execute(
                "DELETE FROM feedback WHERE user_id = ? AND interaction_id IN "
                f"(SELECT i.id FROM interactions AS i WHERE {in_scope})",
                (user_id, *params),
            )
            # Who marked posts solved here is theirs too (the credited answers stay counted).
            await db.execute(
                "DELETE FROM solved_posts AS s WHERE solved_by = ? AND "
                f"{in_scope.replace('i.', 's.')}",
                (user_id, *params),
            )
            cursor = await db.execute(
                f"DELETE FROM interactions AS i WHERE {' AND '.join(clauses)}", (*params, user_id)
            )
        if cursor.rowcount:
            await self._give_back_space()
        return cursor.rowcount

    async def purge_log_before(self, cutoff: str) -> int:
        """Delete log rows older than the cutoff (the retention period); returns the count."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM solved_posts WHERE solved_at < ?", (cutoff,))
            cursor = await db.execute("DELETE FROM interactions WHERE asked_at < ?", (cutoff,))
        if cursor.rowcount:
            await self._give_back_space()
        return cursor.rowcount

    async def _give_back_space(self) -> None:
        """After a delete: free pages back to the disk, and no old copy of a page left behind.

        secure_delete zeroes deleted rows, but until a checkpoint copies the zeroed pages into
        the file, the file keeps the old ones and the write-ahead log may too; TRUNCATE copies
        them and empties the log. It waits (busy_timeout) for readers of older snapshots.
        """
        async with self._write_lock:
            # executescript steps the pragma to its end: execute frees one page per step.
            await self._writer.executescript("PRAGMA incremental_vacuum;")
            [(busy, _, _)] = await self._writer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        if busy:
            log.warning("checkpoint after a delete postponed: readers kept it busy")


def _log_filter(scope: int | None, since: str | None) -> tuple[list[str], list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if scope is not None:
        clauses.append("i.scope = ?")
        params.append(scope)
    if since is not None:
        clauses.append("i.asked_at >= ?")
        params.append(since)
    return clauses, params


def _interaction(row: sqlite3.Row | tuple) -> InteractionRecord:
    answers = tuple(LoggedAnswer(**item) for item in json.loads(row[8]))
    return InteractionRecord(
        id=row[0],
        asked_at=row[1],
        scope=row[2],
        channel_id=row[3],
        user_id=row[4],
        via=row[5],
        question=row[6],
        answered=bool(row[7]),
        answers=answers,
        latency_ms=row[9],
        thumbs_up=int(row[10]),
        thumbs_down=int(row[11]),
    )


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
        # From the (document_id, position) index alone: no sentence text is read back.
        # execute_fetchall: one trip to the connection's thread instead of three.
        rows = await db.execute_fetchall(
            "SELECT document_id, id FROM sentences "
            f"WHERE document_id IN ({', '.join(['?'] * len(chunk))}) "
            "ORDER BY document_id, position",
            chunk,
        )
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
        await db.executemany(
            "INSERT INTO sentence_terms (sentence_id, terms) VALUES (?, ?)", cached
        )
    return ids


def _chunks(items: list[T], size: int = _DOCUMENTS_PER_STATEMENT) -> list[list[T]]:
    """Items in slices small enough for one statement's variables."""
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _document(db: aiosqlite.Connection, scope: int, document_id: int) -> StoredDocument:
    async with db.execute(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE id = ? AND scope = ?",
        (document_id, scope),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        raise DocumentNotFoundError(document_id)
    return StoredDocument(*row)


async def _refuse_duplicate(
    db: aiosqlite.Connection, scope: int, content_hash: str, except_id: int | None
) -> None:
    # One trip to the connection's thread (execute, fetch and close would be three).
    rows = await db.execute_fetchall(
        f"SELECT {_DOCUMENT_COLUMNS} FROM documents "
        "WHERE scope = ? AND content_hash = ? AND id IS NOT ?",
        (scope, content_hash, except_id),
    )
    existing = next(iter(rows), None)
    if existing is not None:
        raise DuplicateDocumentError(StoredDocument(*existing))


@asynccontextmanager
async def _connections(
    path: Path,
) -> AsyncIterator[tuple[aiosqlite.Connection, aiosqlite.Connection]]:
    """The writer and the reader on a file made ready; both closed after, however it ends."""
    if path.parent and not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnusableError(
                f"Cannot create the folder {path.parent} for the database: "
                f"{_why_no_folder(path.parent, error)}; {_CHOOSE_ANOTHER}."
            ) from error
    writer = await _connect(path)
    try:
        await _use_incremental_vacuum(writer, path)
        await _use_wal(writer)
        await _migrate(writer)
        reader = await _connect(path)
        try:
            yield writer, reader
        finally:
            await reader.close()
    finally:
        await writer.close()


def _why_no_folder(folder: Path, error: OSError) -> str:
    """What stops a folder from being made: a file where a folder should be, or the error."""
    for above in folder.parents:
        if above.exists():
            if not above.is_dir():
                return f"{above} is a file, not a folder"
            break
    return error.strerror or str(error)


def _unusable(path: Path, error: sqlite3.DatabaseError) -> DatabaseUnusableError | None:
    """What to tell the user about an error of the file itself; None for any other error."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return None
    code &= 0xFF  # the primary result code, without the extended part
    if code == sqlite3.SQLITE_NOTADB:
        message = (
            f"{path} is not a Verbatim database (it is not an SQLite file): point --db, "
            "VERBATIM_DB or storage.database at the right file, or move this one away to "
            "start a new database."
        )
    elif code == sqlite3.SQLITE_CORRUPT:
        message = (
            f"The database {path} is damaged ({error}): restore it from a backup, or move it "
            "away to start a new database."
        )
    elif code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        message = (
            f"The database {path} is locked by another program and stayed locked for "
            f"{_BUSY_SECONDS:g} s (another verbatim adding many documents, or a database tool "
            "in the middle of a change): let it finish or close it, then try again."
        )
    elif code == sqlite3.SQLITE_CANTOPEN:
        if path.is_dir():
            message = f"{path} is a folder, not a database file: {_CHOOSE_ANOTHER}."
        elif path.parent.exists() and not path.parent.is_dir():
            message = (
                f"Cannot create the database {path}: {path.parent} is not a folder; "
                f"{_CHOOSE_ANOTHER}."
            )
        else:
            message = (
                f"Cannot open or create the database {path} (a read-only place, or no "
                f"permission there): {_CHOOSE_ANOTHER}, or make {path.parent} writable."
            )
    elif code == sqlite3.SQLITE_READONLY:
        message = (
            f"The database {path} cannot be written (the file or its folder is read-only): "
            f"make both writable, or {_CHOOSE_ANOTHER}."
        )
    elif code == sqlite3.SQLITE_FULL:
        message = f"The disk holding the database {path} is full: free some space, then retry."
    elif code == sqlite3.SQLITE_IOERR:
        message = (
            f"Reading or writing the database {path} failed ({error}): check the disk, then "
            "try again."
        )
    else:
        return None
    return DatabaseUnusableError(message)


async def _connect(path: Path) -> aiosqlite.Connection:
    """A connection with Verbatim's settings; if it fails, nothing is left open.

    The file is opened in a worker thread and the working connection handed to aiosqlite: when
    connecting fails inside aiosqlite, its worker thread is left behind (and with it the
    process, which then never exits; omnilib/aiosqlite#259).
    """
    connection = await asyncio.to_thread(_open_sqlite, path)
    return await aiosqlite.Connection(lambda: connection, iter_chunk_size=64)


def _open_sqlite(path: Path) -> sqlite3.Connection:
    # isolation_level None: we issue BEGIN/COMMIT ourselves, so each write is one transaction.
    # timeout: how long to wait for another connection's lock (SQLite's busy_timeout).
    # check_same_thread False: made in this thread, then used only in aiosqlite's one thread.
    connection = sqlite3.connect(
        path, isolation_level=None, timeout=_BUSY_SECONDS, check_same_thread=False
    )
    try:
        # The first statement reads the file: one that is no database, or damaged, fails here.
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows (a forgotten user's questions) are overwritten, not left in free space.
        connection.execute("PRAGMA secure_delete = ON")
    except BaseException:
        connection.close()
        raise
    return connection


async def _use_incremental_vacuum(db: aiosqlite.Connection, path: Path) -> None:
    """Let deletes give their space back to the disk, converting a file made before once.

    A new file takes the mode with its first table (and only before WAL is turned on). A file
    made without it has no room for the pages that track free space, so VACUUM rebuilds it:
    once, needing free disk as large as the file, and a while for a large one.
    """
    [(mode,)] = await db.execute_fetchall("PRAGMA auto_vacuum")
    if mode == _INCREMENTAL:
        return
    await db.execute_fetchall("PRAGMA auto_vacuum = INCREMENTAL")
    [(tables,)] = await db.execute_fetchall("SELECT COUNT(*) FROM sqlite_schema")
    if tables:
        log.warning("%s: converting to incremental vacuum, once (a large file takes a while)", path)
        await db.execute_fetchall("VACUUM")


async def _use_wal(db: aiosqlite.Connection) -> None:
    """Turn on WAL, waiting while another process opening the same new file does it too.

    SQLite answers "database is locked" to this pragma at once, without its busy handler, while
    another connection changes the journal mode (measured: 4 failed opens in 150 pairs of
    processes opening one new file), so it is tried again here, as long as busy_timeout would
    wait. Its result is fetched, not left in an open cursor: that cursor would hold a read
    snapshot, and the migrations' first write would then fail at once if the other process
    wrote first (20 failed opens in 150 pairs).
    """
    delay, waited = 0.005, 0.0
    while True:
        try:
            await db.execute_fetchall("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= _BUSY_SECONDS:
                raise
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.25)


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _migrate(db: aiosqlite.Connection) -> None:
    """Apply each numbered migration not yet recorded, each in its own transaction."""
    await db.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )
        """
    )
    async with db.execute("SELECT version FROM schema_migrations") as cur:
        applied = {row[0] async for row in cur}
    for version, name, sql in _migrations():
        if version in applied:
            continue
        log.info("applying migration %s", name)
        # executescript commits any open transaction first, so BEGIN/COMMIT live in the script
        # itself; on failure the transaction is still open and is rolled back here.
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{sql}\n;"
            "INSERT INTO schema_migrations (version, name, applied_at) "
            f"VALUES ({version}, '{name}', '{utc_now()}');\n"
            "COMMIT;"
        )
        try:
            await db.executescript(script)
        except Exception:
            if db.in_transaction:
                await db.rollback()
            # Two processes opening a fresh file at once both see the migration missing; the
            # second waits on BEGIN IMMEDIATE, then fails on the tables the first just made.
            async with db.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            ) as cur:
                if await cur.fetchone() is not None:
                    continue
            raise
