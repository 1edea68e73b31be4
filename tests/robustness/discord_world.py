"""The robustness tests' handle on the real bot under simcord: the Discord tests' World."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import PrivacySettings
from tests.bot.discord.conftest import Server, World, make_settings

__all__ = ["Server", "World", "running_world"]


@asynccontextmanager
async def running_world(
    tmp_path: Path, privacy: PrivacySettings | None = None, **discord_settings
) -> AsyncIterator[World]:
    settings = make_settings(tmp_path, **discord_settings)
    if privacy is not None:
        settings = dataclasses.replace(settings, privacy=privacy)
    world = World(settings)
    await world.start()
    try:
        yield world
    finally:
        await world.close()
