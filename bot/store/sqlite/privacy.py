"""Forgetting in SQLite: a user's questions on request, old questions after the retention period."""

from __future__ import annotations

from bot.store.sqlite.base import SQLiteBase
from bot.store.sqlite.log import log_filter

# {in_scope}: the log filter's clauses over `interactions AS i`.
_FORGET_VOTES = """
    DELETE FROM feedback WHERE user_id = ? AND interaction_id IN
    (SELECT i.id FROM interactions AS i WHERE {in_scope})
"""
# {in_scope}: the same clauses over `solved_posts AS s`.
_FORGET_SOLVED_BY = """
    DELETE FROM solved_posts AS s WHERE solved_by = ? AND {in_scope}
"""
# {where}: the log filter's clauses and the user's.
_FORGET_QUESTIONS = """
    DELETE FROM interactions AS i WHERE {where}
"""
_PURGE_SOLVED_POSTS = """
    DELETE FROM solved_posts WHERE solved_at < ?
"""
_PURGE_QUESTIONS = """
    DELETE FROM interactions WHERE asked_at < ?
"""


class Privacy(SQLiteBase):
    """Deleting from the log so that nothing deleted stays in the file (see _give_back_space)."""

    async def forget_user(self, scope: int | None, user_id: str) -> int:
        """Delete a user's logged questions (and feedback); returns how many were removed."""
        clauses, params = log_filter(scope, None)
        in_scope = " AND ".join(clauses) or "1"
        clauses.append("user_id = ?")
        async with self._transaction() as db:
            # Their votes on answers in this scope only: another server's log is not ours.
            await db.execute(_FORGET_VOTES.format(in_scope=in_scope), (user_id, *params))
            # Who marked posts solved here is theirs too (the credited answers stay counted).
            await db.execute(
                _FORGET_SOLVED_BY.format(in_scope=in_scope.replace("i.", "s.")),
                (user_id, *params),
            )
            cursor = await db.execute(
                _FORGET_QUESTIONS.format(where=" AND ".join(clauses)), (*params, user_id)
            )
        if cursor.rowcount:
            await self._give_back_space()
        return cursor.rowcount

    async def purge_log_before(self, cutoff: str) -> int:
        """Delete log rows older than the cutoff (the retention period); returns the count."""
        async with self._transaction() as db:
            await db.execute(_PURGE_SOLVED_POSTS, (cutoff,))
            cursor = await db.execute(_PURGE_QUESTIONS, (cutoff,))
        if cursor.rowcount:
            await self._give_back_space()
        return cursor.rowcount
