"""The numbered migrations (bot/store/migrations/*.sql): each applied once, in a transaction."""

from __future__ import annotations

import logging
import re
from importlib import resources

import aiosqlite

from bot.store.records import utc_now

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
    )
"""
_APPLIED = """
    SELECT version FROM schema_migrations
"""
_IS_APPLIED = """
    SELECT 1 FROM schema_migrations WHERE version = ?
"""


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(db: aiosqlite.Connection) -> None:
    """Apply each numbered migration not yet recorded, each in its own transaction."""
    await db.execute(_CREATE_MIGRATIONS_TABLE)
    async with db.execute(_APPLIED) as cur:
        applied = {row[0] async for row in cur}
    for version, name, sql in _migrations():
        if version in applied:
            continue
        log.info("applying migration %s", name)
        # executescript commits any open transaction first, so BEGIN/COMMIT live in the script
        # itself; on failure the transaction is still open and is rolled back here. It takes
        # no parameters: the values are the file's own name (the pattern above) and the clock.
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
            async with db.execute(_IS_APPLIED, (version,)) as cur:
                if await cur.fetchone() is not None:
                    continue
            raise
