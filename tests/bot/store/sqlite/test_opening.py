"""Opening the SQLite file: migrations, WAL, several processes at once, unusable files."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import DatabaseUnusableError
from bot.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[4]


async def test_migrations_are_recorded_and_wal_is_on(store, db_path):
    assert await store.schema_version() >= 1
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
    assert versions == sorted(versions) and versions[0] == 1


async def test_reopening_applies_no_migration_twice(db_path):
    async with SQLiteStore.open(db_path) as first:
        version = await first.schema_version()
    async with SQLiteStore.open(db_path) as second:
        assert await second.schema_version() == version


# Forks pairs of processes that open one new database file at once; prints the failed opens.
OPEN_AT_ONCE = """
import asyncio, os, sys, tempfile, traceback
from pathlib import Path
import pytest

from bot.errors import DatabaseUnusableError
from bot.store.sqlite import SQLiteStore

async def open_and_close(path):
    async with SQLiteStore.open(path):
        pass

failed = 0
for _ in range(int(sys.argv[1])):
    path = Path(tempfile.mkdtemp(dir=sys.argv[2])) / "fresh.db"
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                asyncio.run(open_and_close(path))
                os._exit(0)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
        pids.append(pid)
    failed += sum(os.waitpid(pid, 0)[1] != 0 for pid in pids)
print(failed)
"""


def test_two_processes_opening_one_new_file_at_once_both_succeed(tmp_path):
    # Before WAL was turned on with retries and its cursor closed, about one pair in eight
    # failed with "database is locked" (the crash test's children met it now and then).
    done = subprocess.run(
        [sys.executable, "-c", OPEN_AT_ONCE, "60", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", done.stderr[-2000:]


async def test_a_file_that_is_not_a_database_is_refused_untouched(db_path):
    db_path.write_text("These are my notes, not a database.\n" * 50, encoding="utf-8")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseUnusableError, match="is not a Verbatim database"):
        async with SQLiteStore.open(db_path):
            pass
    assert db_path.read_bytes() == before


async def test_a_damaged_database_is_refused_saying_so(db_path):
    async with SQLiteStore.open(db_path) as store:
        await store.set_meta("a key", "a value " * 2000)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatabaseUnusableError, match="is damaged"):
        async with SQLiteStore.open(db_path) as store:
            await store.get_meta("a key")
