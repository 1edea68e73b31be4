"""Each server's own settings, set with /settings: the config file's values are the defaults."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.errors import VerbatimError
from bot.store import SettingChange, Store

log = logging.getLogger(__name__)

# What a server may set, each with the config key whose value is its default.
KEYS: dict[str, str] = {
    "question_channels": "discord.question_channels",
    "support_role": "discord.support_role",
    "cooldown_questions": "discord.cooldown_questions",
    "cooldown_seconds": "discord.cooldown_seconds",
    "min_confidence": "retrieval.min_confidence",
}


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The settings in force in one server: its own where it set them, else the defaults."""

    question_channels: frozenset[int]
    support_role: int | None
    cooldown_questions: int
    cooldown_seconds: float
    min_confidence: float
    # The keys this server set itself (the others are the config file's).
    own: frozenset[str] = frozenset()


def _checked(key: str, value: Any) -> Any:
    """The value in its stored type; VerbatimError with a safe message when it is not valid."""
    if key not in KEYS:
        raise VerbatimError(f"There is no setting {key!r}.")
    try:
        if key == "question_channels":
            return sorted({int(channel) for channel in value})
        if key == "support_role":
            return None if value is None else int(value)
        if key == "cooldown_questions":
            number = int(value)
            if number < 1:
                raise ValueError(value)
            return number
        number = float(value)
        if key == "cooldown_seconds" and number < 0:
            raise ValueError(value)
        if key == "min_confidence" and not 0 <= number <= 1:
            raise ValueError(value)
        return number
    except (TypeError, ValueError):
        raise VerbatimError(f"{value!r} is not a valid value for {key}.") from None


class ServerSettingsBook:
    """Every server's own settings in memory, written through to the store.

    Read on every question, so reading is a dict lookup; a change is stored (with who made it)
    before it is applied, and applies to the next question at once, without a restart.
    """

    def __init__(self, store: Store, defaults: Settings) -> None:
        self.store = store
        self.defaults = ServerSettings(
            question_channels=frozenset(defaults.discord.question_channels),
            support_role=defaults.discord.support_role,
            cooldown_questions=defaults.discord.cooldown_questions,
            cooldown_seconds=defaults.discord.cooldown_seconds,
            min_confidence=defaults.retrieval.min_confidence,
        )
        self._own: dict[int, dict[str, Any]] = {}
        self._settings: dict[int, ServerSettings] = {}

    async def load(self) -> None:
        """Read every server's settings from the store (at start-up)."""
        self._own.clear()
        self._settings.clear()
        for scope, key, value in await self.store.server_settings():
            if key not in KEYS:
                log.warning("ignoring unknown stored setting %s of server %d", key, scope)
                continue
            try:
                self._own.setdefault(scope, {})[key] = _checked(key, json.loads(value))
            except (VerbatimError, ValueError):
                log.warning("ignoring invalid stored setting %s of server %d", key, scope)

    def of(self, scope: int | None) -> ServerSettings:
        """The settings in force in a server (the defaults for DMs and servers that set none)."""
        if scope is None:
            return self.defaults
        found = self._settings.get(scope)
        if found is None:
            own = self._own.get(scope, {})
            changes = {
                key: frozenset(value) if key == "question_channels" else value
                for key, value in own.items()
            }
            found = dataclasses.replace(self.defaults, **changes, own=frozenset(own))
            self._settings[scope] = found
        return found

    async def set(self, scope: int, key: str, value: Any, *, by: str) -> ServerSettings:
        """Give a server its own value for a setting; logged with who set it."""
        value = _checked(key, value)
        await self.store.change_server_setting(scope, key, json.dumps(value), by)
        self._own.setdefault(scope, {})[key] = value
        self._settings.pop(scope, None)
        log.info("server %d: %s set to %r by %s", scope, key, value, by)
        return self.of(scope)

    async def reset(self, scope: int, key: str, *, by: str) -> ServerSettings:
        """Put a server's setting back to the config file's value; logged with who did it."""
        if key not in KEYS:
            raise VerbatimError(f"There is no setting {key!r}.")
        await self.store.change_server_setting(scope, key, None, by)
        self._own.get(scope, {}).pop(key, None)
        self._settings.pop(scope, None)
        log.info("server %d: %s reset to the default by %s", scope, key, by)
        return self.of(scope)

    async def changes(self, scope: int, limit: int = 5) -> list[SettingChange]:
        """The server's latest changes, newest first."""
        return await self.store.setting_changes(scope, limit)
