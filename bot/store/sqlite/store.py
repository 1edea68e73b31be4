"""SQLiteStore: the Store on an SQLite file, made of its parts, and how to open one."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

from bot.store.sqlite.documents import Documents
from bot.store.sqlite.forum import Forum
from bot.store.sqlite.log import QuestionLog
from bot.store.sqlite.opening import connections, unusable
from bot.store.sqlite.privacy import Privacy
from bot.store.sqlite.settings import Settings


class SQLiteStore(Documents, QuestionLog, Forum, Settings, Privacy):
    """The Store (bot.store.interface) on one SQLite file; opened with `SQLiteStore.open`.

    Each part (documents, the question log, forum posts, settings, privacy) is a class of its
    own module over the two connections of `SQLiteBase`: writes through one behind a lock,
    each in its own transaction; reads through the other, which sees only committed data.
    """

    @classmethod
    @asynccontextmanager
    async def open(cls, path: str | Path) -> AsyncIterator[Self]:
        """Open (creating and migrating if needed) the database at `path`.

        A file that cannot be opened, created or used (not a database, damaged, locked by
        another program for longer than we wait, read-only, in a folder that cannot be made)
        raises DatabaseUnusableError saying what to do, whether on opening or later in the
        body, once everything opened is closed again.
        """
        path = Path(path)
        try:
            async with connections(path) as (writer, reader):
                yield cls(path, writer, reader)
        except sqlite3.DatabaseError as error:
            error_for_user = unusable(path, error)
            if error_for_user is None:
                raise
            raise error_for_user from error
