"""What the log keeps about people: hashed user ids, votes, forgetting a user, retention."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from bot.config import PrivacySettings
from bot.store import Store

log = logging.getLogger(__name__)

# The secret that keys user-id hashes; it lives in the database so hashes stay stable.
_USER_HASH_KEY = "user_hash_key"


class Privacy:
    """The privacy settings applied to one store's log."""

    def __init__(self, store: Store, settings: PrivacySettings) -> None:
        self.store = store
        self.settings = settings
        self._user_hash_key: bytes | None = None

    async def user_key(self, user_id: str | None) -> str | None:
        """The id the log keeps for a user: as given, or a keyed hash when configured."""
        if user_id is None or not self.settings.hash_user_ids:
            return user_id
        if self._user_hash_key is None:
            key = await self.store.get_or_set_meta(_USER_HASH_KEY, secrets.token_hex(32))
            self._user_hash_key = bytes.fromhex(key)
        return _hashed(self._user_hash_key, user_id)

    async def record_feedback(self, interaction_id: int, user_id: str, value: int) -> bool:
        """Record a user's 👍 (1) or 👎 (-1) on an answer; False if the log row is gone."""
        key = await self.user_key(user_id)
        assert key is not None
        return await self.store.record_feedback(interaction_id, key, value)

    async def forget_user(self, scope: int | None, user_id: str) -> int:
        """Delete a user's logged questions and feedback (scope None: everywhere).

        Rows are found under the plain id and under its hash, so hashing can be switched on or
        off without leaving anyone behind.
        """
        removed = await self.store.forget_user(scope, user_id)
        key = await self.store.get_meta(_USER_HASH_KEY)
        if key is not None:
            removed += await self.store.forget_user(scope, _hashed(bytes.fromhex(key), user_id))
        return removed

    async def purge_expired(self, now: datetime | None = None) -> int:
        """Delete log rows older than the retention period (none when it is 0 days)."""
        days = self.settings.retention_days
        if days <= 0:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        removed = await self.store.purge_log_before(cutoff.isoformat(timespec="milliseconds"))
        if removed:
            log.info("retention: deleted %d log rows older than %d days", removed, days)
        return removed

    async def keep_retention(self, every_seconds: float = 3600.0) -> None:
        """Apply the retention period now and then every interval, until cancelled."""
        while True:
            try:
                await self.purge_expired()
            except Exception:  # a failed purge must not stop the next one
                log.exception("retention purge failed")
            await asyncio.sleep(every_seconds)


def _hashed(key: bytes, user_id: str) -> str:
    return "h:" + hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
