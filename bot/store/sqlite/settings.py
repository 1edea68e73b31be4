"""Key-value settings: the store's own (meta values, schema version) and each server's."""

from __future__ import annotations

from bot.store.records import SettingChange, utc_now
from bot.store.sqlite.base import SQLiteBase

_GET_META = """
    SELECT value FROM meta WHERE key = ?
"""
_SET_META = """
    INSERT INTO meta (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
_ADD_META = """
    INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING
"""
_SCHEMA_VERSION = """
    SELECT MAX(version) FROM schema_migrations
"""
_SERVER_SETTINGS = """
    SELECT scope, key, value FROM server_settings ORDER BY scope, key
"""
_CLEAR_SERVER_SETTING = """
    DELETE FROM server_settings WHERE scope = ? AND key = ?
"""
_SET_SERVER_SETTING = """
    INSERT INTO server_settings (scope, key, value) VALUES (?, ?, ?)
    ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value
"""
_LOG_SETTING_CHANGE = """
    INSERT INTO settings_changes (scope, key, value, changed_by, changed_at)
    VALUES (?, ?, ?, ?, ?)
"""
_SETTING_CHANGES = """
    SELECT scope, key, value, changed_by, changed_at FROM settings_changes
    WHERE scope = ? ORDER BY id DESC LIMIT ?
"""


class Settings(SQLiteBase):
    """The meta table, the schema version, and the servers' settings with their change log."""

    async def get_meta(self, key: str) -> str | None:
        """A value from the key-value meta table."""
        async with self._reader.execute(_GET_META, (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        """Set a value in the key-value meta table."""
        async with self._transaction() as db:
            await db.execute(_SET_META, (key, value))

    async def get_or_set_meta(self, key: str, default: str) -> str:
        """The meta value for a key, storing `default` first if there is none (first one wins)."""
        async with self._transaction() as db:
            await db.execute(_ADD_META, (key, default))
            async with db.execute(_GET_META, (key,)) as cur:
                row = await cur.fetchone()
        assert row is not None
        return str(row[0])

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self._reader.execute(_SCHEMA_VERSION) as cur:
            row = await cur.fetchone()
        return int(row[0] or 0) if row else 0

    async def server_settings(self) -> list[tuple[int, str, str]]:
        """Every server's own settings: (scope, key, JSON value)."""
        async with self._reader.execute(_SERVER_SETTINGS) as cur:
            return [(int(row[0]), str(row[1]), str(row[2])) async for row in cur]

    async def change_server_setting(
        self, scope: int, key: str, value: str | None, changed_by: str
    ) -> None:
        """Set (JSON `value`) or clear (None) a server's setting, and log who did it, at once."""
        async with self._transaction() as db:
            if value is None:
                await db.execute(_CLEAR_SERVER_SETTING, (scope, key))
            else:
                await db.execute(_SET_SERVER_SETTING, (scope, key, value))
            await db.execute(_LOG_SETTING_CHANGE, (scope, key, value, changed_by, utc_now()))

    async def setting_changes(self, scope: int, limit: int = 10) -> list[SettingChange]:
        """A server's latest settings changes, newest first."""
        async with self._reader.execute(_SETTING_CHANGES, (scope, limit)) as cur:
            return [SettingChange(*row) async for row in cur]
