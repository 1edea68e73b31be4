"""Opening the SQLite file: its folder, connections, WAL, migrations; what to say if it fails."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.errors import DatabaseUnusableError
from bot.store.sqlite.migrations import migrate

log = logging.getLogger(__name__)

# How long a write waits for another connection's lock before "database is locked".
BUSY_SECONDS = 10.0
# PRAGMA auto_vacuum's value for INCREMENTAL: freed pages go back to the disk when asked.
_INCREMENTAL = 2
# Where the messages about an unusable database send the user to pick another file.
_CHOOSE_ANOTHER = "choose another database file with --db, VERBATIM_DB or storage.database"


@asynccontextmanager
async def connections(
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
        await migrate(writer)
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


def unusable(path: Path, error: sqlite3.DatabaseError) -> DatabaseUnusableError | None:
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
            f"{BUSY_SECONDS:g} s (another verbatim adding many documents, or a database tool "
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
        path, isolation_level=None, timeout=BUSY_SECONDS, check_same_thread=False
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
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= BUSY_SECONDS:
                raise
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.25)
