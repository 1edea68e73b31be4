"""The Store on an SQLite file: one module per part, SQLiteStore joins them."""

from bot.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
