"""Every implementation of the Store interface, as the store's contract tests open them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from bot.store import Store
from bot.store.sqlite import SQLiteStore


@dataclass(frozen=True)
class Implementation:
    """A Store implementation: its class, and how to open a fresh, empty one in a folder."""

    cls: type
    open: Callable[[Path], AbstractAsyncContextManager[Store]]


# A PostgreSQL store joins here, opening a fresh database (or schema) for each test.
IMPLEMENTATIONS = {
    "sqlite": Implementation(SQLiteStore, lambda folder: SQLiteStore.open(folder / "verbatim.db")),
}
