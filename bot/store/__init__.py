"""The store: its interface, its records, and `open_store` to open one (SQLite for now)."""

from bot.store.interface import Store
from bot.store.opening import open_store
from bot.store.records import (
    GLOBAL_SCOPE,
    AskedBefore,
    InteractionRecord,
    LoggedAnswer,
    NewDocument,
    SettingChange,
    Stats,
    StoredDocument,
    StoredSentence,
)

__all__ = [
    "GLOBAL_SCOPE",
    "AskedBefore",
    "InteractionRecord",
    "LoggedAnswer",
    "NewDocument",
    "SettingChange",
    "Stats",
    "Store",
    "StoredDocument",
    "StoredSentence",
    "open_store",
]
