"""What the SQLite file holds: nothing of a forgotten user or of a failed write; no space kept."""

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store import LoggedAnswer, Store
from bot.store.sqlite import SQLiteStore
from tests.bot.store.test_contract import add

SECRET = "the zanzibar quokka marmalade protocol, how does it work?"


def on_disk(path: Path) -> bytes:
    """Everything SQLite keeps for the database: the file and its write-ahead log."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def file_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def log(store: Store, question: str, user_id: str, scope: int = 5) -> int:
    return await store.log_interaction(
        scope=scope,
        via="mention",
        question=question,
        answers=[LoggedAnswer(1, 1, 1, 2.5)],
        latency_ms=3.0,
        channel_id="123",
        user_id=user_id,
    )


async def log_many(store: Store, count: int, question: str) -> None:
    for start in range(0, count, 200):
        # Logged together, so written 200 to an INSERT (as a busy bot writes them).
        await asyncio.gather(
            *(log(store, f"{question} {n}", f"user-{n % 50}") for n in range(start, start + 200))
        )


async def test_forgetting_a_user_leaves_none_of_their_text_in_the_files(db_path):
    async with SQLiteStore.open(db_path) as store:
        for n in range(30):
            await log(store, f"an ordinary question number {n} about kettles", f"other-{n}")
        interaction = await log(store, SECRET, "forget-me")
        await store.record_feedback(interaction, "forget-me", 1)
        await log(store, SECRET.upper(), "forget-me", scope=6)
        assert SECRET.encode() in on_disk(db_path)

        assert await store.forget_user(None, "forget-me") == 2
        # At once, while the bot still runs: not in the file, nor in its write-ahead log.
        data = on_disk(db_path)
        assert SECRET.encode() not in data and SECRET.upper().encode() not in data
        assert b"forget-me" not in data
        assert b"an ordinary question number 29 about kettles" in data  # the others stay
    data = on_disk(db_path)
    assert SECRET.encode() not in data and b"forget-me" not in data


async def test_a_purge_gives_the_space_back(db_path):
    async with SQLiteStore.open(db_path) as store:
        await log_many(store, 4000, "a question long enough to take some room " * 8)
    full = file_size(db_path)
    assert full > 1_000_000

    async with SQLiteStore.open(db_path) as store:
        assert await store.purge_log_before("9999") == 4000
        # Given back at once, not when the file is next closed.
        assert file_size(db_path) < full / 10
    assert file_size(db_path) < full / 10


async def test_a_removed_document_gives_its_space_back(db_path):
    async with SQLiteStore.open(db_path) as store:
        document, _ = await store.add_document(
            scope=1,
            title="Big",
            source="",
            kind="text",
            content_hash="big",
            added_by="me",
            sentences=[f"Sentence {n} of a long document fills pages. " * 4 for n in range(5000)],
        )
        full = file_size(db_path)
        assert full > 1_000_000
        await store.remove_document(1, document.id)
        assert file_size(db_path) < full / 10


async def test_a_database_made_before_incremental_vacuum_is_converted(db_path):
    async with SQLiteStore.open(db_path) as store:
        await log_many(store, 2000, "an older question that takes some room " * 8)
        version = await store.schema_version()
    # A file as versions before incremental vacuum made it: auto_vacuum off.
    old = sqlite3.connect(db_path)
    old.execute("PRAGMA auto_vacuum = NONE")
    old.execute("VACUUM")
    assert old.execute("PRAGMA auto_vacuum").fetchone() == (0,)
    old.close()
    full = file_size(db_path)

    async with SQLiteStore.open(db_path) as store:
        assert await store.schema_version() == version
        assert len(await store.interactions(None, limit=5000)) == 2000
        assert await store.purge_log_before("9999") == 2000
        assert file_size(db_path) < full / 5
    converted = sqlite3.connect(db_path)
    assert converted.execute("PRAGMA auto_vacuum").fetchone() == (2,)  # incremental
    converted.close()


async def test_a_failure_halfway_through_an_add_leaves_nothing(store):
    class Unstorable:
        pass

    with pytest.raises(sqlite3.Error):
        await add(store, sentences=["Fine.", Unstorable(), "Never."])
    assert await store.list_documents(1) == []
    assert await store.scope_sentences_with_terms(1) == []
    # The store is still usable afterwards.
    assert (await add(store)).sentence_count == 2
