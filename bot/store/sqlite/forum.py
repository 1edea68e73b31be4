"""Forum posts marked solved, and answers the support role was called in for, in SQLite."""

from __future__ import annotations

from bot.store.records import utc_now
from bot.store.sqlite.base import SQLiteBase

_HAND_OFF = """
    INSERT INTO hand_offs (interaction_id, called_at)
    SELECT id, ? FROM interactions WHERE id = ?
    ON CONFLICT (interaction_id) DO NOTHING
"""
_POST_ANSWER = """
    SELECT id FROM interactions WHERE scope = ? AND channel_id = ? AND answered = 1
    ORDER BY id LIMIT 1
"""
_ANSWER_OF_SCOPE = """
    SELECT 1 FROM interactions WHERE id = ? AND scope = ?
"""
_MARK_SOLVED = """
    INSERT INTO solved_posts (thread_id, scope, interaction_id, solved_by, solved_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING
"""


class Forum(SQLiteBase):
    """What happened to the bot's answers in forum posts and threads, once each."""

    async def hand_off_once(self, interaction_id: int) -> bool:
        """Note that the support role was called in for an answer; False if it was already."""
        async with self._transaction() as db:
            cursor = await db.execute(_HAND_OFF, (utc_now(), interaction_id))
        return cursor.rowcount == 1

    async def post_answer(self, scope: int, channel_id: str) -> int | None:
        """The first answer the bot gave in a thread (a forum post), as its log row id."""
        async with self._reader.execute(_POST_ANSWER, (scope, channel_id)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else None

    async def mark_solved(
        self, thread_id: str, scope: int, interaction_id: int | None, solved_by: str
    ) -> bool:
        """Log a forum post as solved, crediting an answer (or none); False if it already was."""
        async with self._transaction() as db:
            if interaction_id is not None:
                # Only an answer of this server, and one still in the log, is credited.
                async with db.execute(_ANSWER_OF_SCOPE, (interaction_id, scope)) as cur:
                    if await cur.fetchone() is None:
                        interaction_id = None
            cursor = await db.execute(
                _MARK_SOLVED, (thread_id, scope, interaction_id, solved_by, utc_now())
            )
        return cursor.rowcount == 1
