"""The SQLite store's own tests: the store on the file at `db_path`, which they also read."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.sqlite import SQLiteStore


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore.open(db_path) as opened:
        yield opened
