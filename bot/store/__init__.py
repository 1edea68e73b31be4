"""The SQLite store: documents, sentences and the interaction log."""

from bot.store.store import (
    GLOBAL_SCOPE,
    AskedBefore,
    InteractionRecord,
    LoggedAnswer,
    NewDocument,
    SettingChange,
    Stats,
    Store,
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
]
