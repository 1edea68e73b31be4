"""Opening a store: the one place that picks the implementation behind the Store interface."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.store.interface import Store
from bot.store.sqlite import SQLiteStore


def open_store(path: str | Path) -> AbstractAsyncContextManager[Store]:
    """The store in the SQLite file at `path`, for `async with`; closed when the block ends.

    The file (and its folder) is created and migrated if needed. A file that cannot be opened,
    created or used raises DatabaseUnusableError saying what to do, whether on opening or
    later in the block, once everything opened is closed again.
    """
    return SQLiteStore.open(path)
