"""What every part of the SQLite store shares: its two connections and its transactions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

# executescript steps the pragma to its end: execute frees one page per step.
_FREE_PAGES = """
    PRAGMA incremental_vacuum;
"""
_CHECKPOINT = """
    PRAGMA wal_checkpoint(TRUNCATE)
"""


class SQLiteBase:
    """The file behind the store, through two connections made ready by `opening.connections`.

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

    async def _give_back_space(self) -> None:
        """After a delete: free pages back to the disk, and no old copy of a page left behind.

        secure_delete zeroes deleted rows, but until a checkpoint copies the zeroed pages into
        the file, the file keeps the old ones and the write-ahead log may too; TRUNCATE copies
        them and empties the log. It waits (busy_timeout) for readers of older snapshots.
        """
        async with self._write_lock:
            await self._writer.executescript(_FREE_PAGES)
            [(busy, _, _)] = await self._writer.execute_fetchall(_CHECKPOINT)
        if busy:
            log.warning("checkpoint after a delete postponed: readers kept it busy")
