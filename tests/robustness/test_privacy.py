"""Privacy: forgetting a user, the retention period, and user ids stored as keyed hashes."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import PrivacySettings, RetrievalSettings
from bot.engine.library import Library
from bot.main import SERVICES
from bot.store import Store, open_store
from tests.conftest import SEED_QUESTION, SEEDS

SCOPE_A, SCOPE_B = 11, 22


def make_library(store: Store, **privacy) -> Library:
    return Library(store, RetrievalSettings(), privacy=PrivacySettings(**privacy))


async def ask(library: Library, scope: int, user: str) -> int:
    result = await library.ask(SEED_QUESTION, scope=scope, via="test", user_id=user)
    return result.interaction_id


def raw_rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


async def test_forget_removes_a_users_questions_and_votes_in_that_scope_only(store, db_path):
    library = make_library(store)
    a1 = await ask(library, SCOPE_A, "1")
    b1 = await ask(library, SCOPE_B, "1")
    b2 = await ask(library, SCOPE_B, "2")
    a2 = await ask(library, SCOPE_A, "2")
    assert await library.privacy.record_feedback(b2, "1", 1)  # user 1 votes in scope B
    assert await library.privacy.record_feedback(a2, "1", -1)  # and in scope A
    assert await library.privacy.record_feedback(a1, "2", 1)  # user 2 votes on user 1's answer

    assert await library.privacy.forget_user(SCOPE_A, "1") == 1
    assert await store.get_interaction(a1) is None
    assert (await store.get_interaction(a2)).thumbs_down == 0  # their vote in A is gone
    assert (await store.get_interaction(b1)) is not None  # scope B is not scope A's to forget
    assert (await store.get_interaction(b2)).thumbs_up == 1

    assert await library.privacy.forget_user(None, "1") == 1
    assert await store.get_interaction(b1) is None
    assert (await store.get_interaction(b2)).thumbs_up == 0
    assert raw_rows(db_path, "SELECT COUNT(*) FROM interactions WHERE user_id = '1'") == [(0,)]
    assert raw_rows(db_path, "SELECT COUNT(*) FROM feedback WHERE user_id = '1'") == [(0,)]


async def test_hashed_user_ids_never_store_the_id_and_still_forget_and_vote(db_path):
    async with open_store(db_path) as store:
        library = make_library(store, hash_user_ids=True)
        first = await ask(library, SCOPE_A, "123456789012345678")
        assert await library.privacy.record_feedback(first, "123456789012345678", 1)
        logged = await store.get_interaction(first)
        assert logged.user_id.startswith("h:") and "123456789012345678" not in logged.user_id
        assert logged.thumbs_up == 1
    # The key lives in the database: after a restart the same user hashes the same way.
    async with open_store(db_path) as store:
        library = make_library(store, hash_user_ids=True)
        second = await ask(library, SCOPE_A, "123456789012345678")
        assert (await store.get_interaction(second)).user_id == logged.user_id
        # A change of mind:
        assert await library.privacy.record_feedback(first, "123456789012345678", -1)
        assert (await store.get_interaction(first)).thumbs_down == 1
        other = await ask(library, SCOPE_A, "999")
        assert (await store.get_interaction(other)).user_id != logged.user_id
    with sqlite3.connect(db_path) as db:
        dump = "\n".join(db.iterdump())
    assert "123456789012345678" not in dump
    async with open_store(db_path) as store:
        library = make_library(store, hash_user_ids=True)
        assert await library.privacy.forget_user(SCOPE_A, "123456789012345678") == 2
        assert await store.get_interaction(other) is not None


async def test_forget_finds_rows_from_before_hashing_was_switched_on(db_path):
    async with open_store(db_path) as store:
        await ask(make_library(store), SCOPE_A, "42")
        await ask(make_library(store, hash_user_ids=True), SCOPE_A, "42")
        assert await make_library(store).privacy.forget_user(None, "42") == 2


async def test_retention_deletes_rows_older_than_the_period_with_their_votes(store, db_path):
    library = make_library(store, retention_days=30)
    first = await ask(library, SCOPE_A, "1")
    await library.privacy.record_feedback(first, "2", 1)
    now = datetime.now(UTC)
    assert await library.privacy.purge_expired(now + timedelta(days=29)) == 0
    assert await library.privacy.purge_expired(now + timedelta(days=31)) == 1
    assert await store.get_interaction(first) is None
    assert raw_rows(db_path, "SELECT COUNT(*) FROM feedback") == [(0,)]
    # A retention of 0 days means keep forever.
    keep = make_library(store, retention_days=0)
    await ask(keep, SCOPE_A, "1")
    assert await keep.privacy.purge_expired(now + timedelta(days=10_000)) == 0


def insert_old_row(path, days: int, via: str = "cli") -> None:
    asked = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO interactions (asked_at, scope, channel_id, user_id, via, question, "
            "answered, answers, latency_ms) VALUES (?, 0, NULL, 'old', ?, 'old?', 0, '[]', 1)",
            (asked, via),
        )


async def test_the_long_running_purge_applies_retention_at_once_and_keeps_going(store, db_path):
    library = make_library(store, retention_days=7)
    insert_old_row(db_path, days=8)
    insert_old_row(db_path, days=6)
    task = asyncio.create_task(library.privacy.keep_retention(every_seconds=0.05))
    for _ in range(200):
        await asyncio.sleep(0.01)
        if raw_rows(db_path, "SELECT COUNT(*) FROM interactions") == [(1,)]:
            break
    insert_old_row(db_path, days=9)  # the next round catches this one too
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert raw_rows(db_path, "SELECT user_id FROM interactions") == [("old",)]
    assert raw_rows(db_path, "SELECT COUNT(*) FROM interactions") == [(1,)]


def run_cli(tmp_path, *args: str, config: str = ""):
    config_path = tmp_path / "verbatim.toml"
    config_path.write_text(
        f'[storage]\ndatabase = "{tmp_path / "verbatim.db"}"\nseeds = "{SEEDS}"\n' + config
    )
    return CliRunner().invoke(
        cli, ["--config", str(config_path), *args], obj=SERVICES, catch_exceptions=False
    )


def test_cli_log_forget_and_purge(tmp_path):
    db_path = tmp_path / "verbatim.db"

    async def fill() -> None:
        async with open_store(db_path) as store:
            library = make_library(store)
            await library.seed(SEEDS)
            await ask(library, SCOPE_A, "555")
            await ask(library, SCOPE_B, "555")
            await ask(library, SCOPE_A, "666")

    asyncio.run(fill())
    done = run_cli(tmp_path, "log", "forget", "555", "--scope", str(SCOPE_A))
    assert done.exit_code == 0 and done.output.strip() == "forgot 1 logged questions of user 555"
    done = run_cli(tmp_path, "log", "forget", "555")
    assert done.output.strip() == "forgot 1 logged questions of user 555"
    assert raw_rows(db_path, "SELECT user_id FROM interactions") == [("666",)]

    insert_old_row(db_path, days=100)
    done = run_cli(tmp_path, "log", "purge", config="[privacy]\nretention_days = 90\n")
    assert done.output.strip() == "deleted 1 logged questions older than 90 days"
    assert raw_rows(db_path, "SELECT user_id FROM interactions") == [("666",)]
    # Every start of the engine applies the retention period too.
    insert_old_row(db_path, days=100)
    done = run_cli(tmp_path, "ask", SEED_QUESTION, config="[privacy]\nretention_days = 90\n")
    assert done.exit_code == 0
    assert raw_rows(db_path, "SELECT COUNT(*) FROM interactions WHERE user_id = 'old'") == [(0,)]


def test_cli_log_still_lists_and_has_help(tmp_path):
    assert run_cli(tmp_path, "log").output.strip() == "No questions logged."
    for command in ("forget", "purge"):
        done = run_cli(tmp_path, "log", command, "--help")
        assert done.exit_code == 0 and "Usage:" in done.output
