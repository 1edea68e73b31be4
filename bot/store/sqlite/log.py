"""The question log in SQLite: questions and their answers, feedback, links, counts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import aiosqlite

from bot.batching import Batcher
from bot.store.records import AskedBefore, InteractionRecord, LoggedAnswer, Stats, utc_now
from bot.store.sqlite.base import SQLiteBase

# Log rows written together at most (ten values each, well under SQLite's 32,766 variables).
_LOG_BATCH = 200
# asked_at, scope, channel_id, user_id, via, question, answered, answers, latency_ms, link
_InteractionRow = tuple[str, int, str | None, str | None, str, str, bool, str, float, str | None]

# {rows}: one (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) per question.
_INSERT_INTERACTIONS = """
    INSERT INTO interactions (asked_at, scope, channel_id, user_id, via, question,
                              answered, answers, latency_ms, link)
    VALUES {rows}
    RETURNING id
"""
# The columns of an InteractionRecord, in the order _interaction reads them.
_INTERACTION_COLUMNS = """
    i.id, i.asked_at, i.scope, i.channel_id, i.user_id, i.via, i.question, i.answered,
    i.answers, i.latency_ms,
    COALESCE((SELECT SUM(value = 1) FROM feedback f WHERE f.interaction_id = i.id), 0),
    COALESCE((SELECT SUM(value = -1) FROM feedback f WHERE f.interaction_id = i.id), 0)
"""
_INTERACTION = f"""
    SELECT {_INTERACTION_COLUMNS} FROM interactions i WHERE i.id = ?
"""
# {where}: the filter's clauses joined with AND.
_INTERACTIONS = f"""
    SELECT {_INTERACTION_COLUMNS} FROM interactions i WHERE {{where}}
    ORDER BY i.id DESC LIMIT ?
"""
_FIRST_QUESTION = """
    SELECT question FROM interactions WHERE scope = ? AND channel_id = ?
    ORDER BY id LIMIT 1
"""
_INTERACTION_EXISTS = """
    SELECT 1 FROM interactions WHERE id = ?
"""
_RECORD_FEEDBACK = """
    INSERT INTO feedback (interaction_id, user_id, value, given_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (interaction_id, user_id)
    DO UPDATE SET value = excluded.value, given_at = excluded.given_at
"""
_SET_LINK = """
    UPDATE interactions SET link = ? WHERE id = ?
"""
_ASKED_BEFORE = """
    SELECT i.id, i.question, i.link, i.channel_id, i.user_id,
           EXISTS (SELECT 1 FROM solved_posts s WHERE s.thread_id = i.channel_id)
    FROM interactions i
    WHERE i.scope = ? AND i.link IS NOT NULL AND (
        i.answered = 1
        OR EXISTS (SELECT 1 FROM solved_posts s WHERE s.thread_id = i.channel_id))
    ORDER BY i.id DESC LIMIT ?
"""
# {where}: the log filter's clauses joined with AND, used three times.
_COUNTS = """
    SELECT COUNT(*), COALESCE(SUM(i.answered), 0),
           (SELECT COUNT(*) FROM feedback f JOIN interactions i ON i.id = f.interaction_id
            WHERE {where} AND f.value = 1),
           (SELECT COUNT(*) FROM feedback f JOIN interactions i ON i.id = f.interaction_id
            WHERE {where} AND f.value = -1)
    FROM interactions i WHERE {where}
"""
# Helpful: answers with a 👍, or that a solved post credits (asked in the period).
# {where}: the log filter's clauses; {solved_where}: the same for solved posts.
_HELPFUL_AND_SOLVED = """
    SELECT (SELECT COUNT(*) FROM interactions i WHERE {where} AND i.answered = 1 AND (
                EXISTS (SELECT 1 FROM feedback f
                        WHERE f.interaction_id = i.id AND f.value = 1)
                OR EXISTS (SELECT 1 FROM solved_posts s WHERE s.interaction_id = i.id))),
           (SELECT COUNT(*) FROM solved_posts s WHERE {solved_where})
"""


class QuestionLog(SQLiteBase):
    """Logging questions, writing those asked at once together; reading and counting them."""

    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection
    ) -> None:
        super().__init__(path, writer, reader)
        self._logging = Batcher(self._insert_interactions, limit=_LOG_BATCH)

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
                _INSERT_INTERACTIONS.format(rows=values), [value for row in rows for value in row]
            )
        return sorted(row[0] for row in returned)

    async def first_question(self, scope: int, channel_id: str) -> str | None:
        """The first question logged in a channel or thread of the scope, or None."""
        async with self._reader.execute(_FIRST_QUESTION, (scope, channel_id)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def record_feedback(self, interaction_id: int, user_id: str, value: int) -> bool:
        """Record (or change) one user's 👍 (1) or 👎 (-1); False if the interaction is gone."""
        if value not in (1, -1):
            raise ValueError("feedback is 1 or -1")
        async with self._transaction() as db:
            async with db.execute(_INTERACTION_EXISTS, (interaction_id,)) as cur:
                if await cur.fetchone() is None:
                    return False
            await db.execute(_RECORD_FEEDBACK, (interaction_id, user_id, value, utc_now()))
        return True

    async def set_link(self, interaction_id: int, link: str) -> None:
        """Where a logged question can be seen, once known (the reply to a slash command)."""
        async with self._transaction() as db:
            await db.execute(_SET_LINK, (link, interaction_id))

    async def asked_before(self, scope: int, *, limit: int) -> list[AskedBefore]:
        """The scope's latest linkable questions that were answered (or asked in a solved post).

        Newest first; only questions logged with a link.
        """
        # One trip to the reader's thread for all of them (a cursor's rows come one by one).
        rows = await self._reader.execute_fetchall(_ASKED_BEFORE, (scope, limit))
        return [AskedBefore(*row[:5], solved=bool(row[5])) for row in rows]

    async def get_interaction(self, interaction_id: int) -> InteractionRecord | None:
        """One logged interaction, or None."""
        async with self._reader.execute(_INTERACTION, (interaction_id,)) as cur:
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
        clauses, params = log_filter(scope, since)
        if before is not None:
            clauses.append("i.id < ?")
            params.append(before)
        if unanswered:
            clauses.append("i.answered = 0")
        if rated:
            clauses.append("EXISTS (SELECT 1 FROM feedback f WHERE f.interaction_id = i.id)")
        where = " AND ".join(clauses) or "1"
        async with self._reader.execute(_INTERACTIONS.format(where=where), (*params, limit)) as cur:
            rows = await cur.fetchall()
        # Decoding each row's answers is CPU work: 20,000 rows (an export) take about 0.4 s.
        return await asyncio.to_thread(lambda: [_interaction(row) for row in rows])

    async def stats(self, scope: int | None, *, since: str | None = None) -> Stats:
        """Questions, answered questions and feedback counts since a time."""
        clauses, params = log_filter(scope, since)
        where = " AND ".join(clauses) or "1"
        async with self._reader.execute(
            _COUNTS.format(where=where), (*params, *params, *params)
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        solved = [
            c for c, v in (("s.scope = ?", scope), ("s.solved_at >= ?", since)) if v is not None
        ]
        solved_where = " AND ".join(solved) or "1"
        async with self._reader.execute(
            _HELPFUL_AND_SOLVED.format(where=where, solved_where=solved_where),
            (*params, *[v for v in (scope, since) if v is not None]),
        ) as cur:
            more = await cur.fetchone()
        assert more is not None
        return Stats(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(more[0]), int(more[1]))


def log_filter(scope: int | None, since: str | None) -> tuple[list[str], list[object]]:
    """The WHERE clauses (over `interactions AS i`) and their values for a scope and a time."""
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
