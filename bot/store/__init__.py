"""The SQLite store: documents, sentences and the interaction log."""

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
from bot.store.store import Store

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
]
