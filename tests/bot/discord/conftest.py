"""The real bot over a temporary SQLite file, driven offline through discord.py with simcord.

Fixtures: `world` (a `World`: the running env, the bot, `server()` to add a guild with a
moderator and a member, `restart(**changes)`, `open_to_everyone()`, `expected_errors()`),
`env` (the simcord Env) and `server` (one ready guild). Reuse them for load, fault and
permission tests: the bot is built by `bot.discord.app.create_bot`, exactly as `verbatim run`
builds it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import discord
import pytest
import simcord

from bot.config import DiscordSettings, Settings, StorageSettings
from bot.discord.app import Verbatim, create_bot
from bot.engine.fetch import Fetcher
from bot.main import open_library
from tests.conftest import SEEDS


def make_settings(tmp_path: Path, **discord_settings) -> Settings:
    discord_settings.setdefault("cooldown_seconds", 0.0)
    return Settings(
        storage=StorageSettings(database=tmp_path / "verbatim.db", seeds=SEEDS),
        discord=DiscordSettings(**discord_settings),
    )


@dataclass
class Server:
    """A guild with a channel, a moderator (Manage Server) and an ordinary member."""

    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    moderator: simcord.MemberActor
    member: simcord.MemberActor


class World:
    """One simcord environment running the real bot; it can restart the bot over the same file.

    Each bot gets its own Store, Library and Fetcher opened from the settings, exactly as
    `verbatim run` opens them, so a restart reads everything back from SQLite.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env: simcord.Env
        self._acknowledged = 0
        self.commands: dict[str, discord.app_commands.AppCommand] = {}
        self._stacks: list[AsyncExitStack] = []
        self._servers = 0

    async def build_bot(self, settings: Settings) -> Verbatim:
        stack = AsyncExitStack()
        self._stacks.append(stack)
        library = await stack.enter_async_context(open_library(settings))
        fetcher = await stack.enter_async_context(Fetcher.open(settings.documents))
        return create_bot(settings, library.store, library, fetcher)

    @property
    def bot(self) -> Verbatim:
        return self.env.bot  # type: ignore[return-value]

    async def start(self) -> None:
        self.env = simcord.Env(await self.build_bot(self.settings))
        await self.env.start()
        await self.sync()

    async def sync(self) -> None:
        """Sync the commands deliberately, as `verbatim sync` does, and keep their ids."""
        self.commands = {command.name: command for command in await self.bot.tree.sync()}

    async def restart(self, *, documents: dict | None = None, **discord_changes) -> None:
        """Stop the bot and start a new one (new Store, Library, Fetcher) on the same file,
        optionally with changed [discord] or [documents] settings."""
        self.settings = dataclasses.replace(
            self.settings,
            discord=dataclasses.replace(self.settings.discord, **discord_changes),
            documents=dataclasses.replace(self.settings.documents, **(documents or {})),
        )
        old = self._stacks[:]
        await self.env.restart_bot(await self.build_bot(self.settings))
        # The old bot's database connections close, as they would when its process ends.
        for stack in reversed(old):
            await stack.aclose()
            self._stacks.remove(stack)
        await self.sync()

    def open_to_everyone(self, server: Server, *names: str) -> None:
        """What a server admin can do: let everyone use commands despite their default
        permissions. Only the bot's own check then stands between members and them."""
        for name in names:
            server.guild.set_command_permissions(
                self.commands[name].id, {server.guild.default_role: True}
            )

    async def close(self) -> None:
        try:
            await self.env.shutdown()
        finally:
            for stack in reversed(self._stacks):
                await stack.aclose()
        unexpected = self.env.errors_since(self._acknowledged)
        if unexpected:
            raise ExceptionGroup("the bot raised errors no test expected", list(unexpected))

    def server(self, name: str | None = None) -> Server:
        self._servers += 1
        name = name or f"server{self._servers}"
        guild = self.env.create_guild(name)
        channel = guild.create_text_channel("general")
        mods = guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
        moderator = guild.add_member(self.env.create_user(f"{name}-mod"), roles=[mods])
        member = guild.add_member(self.env.create_user(f"{name}-member"))
        return Server(guild, channel, moderator, member)

    def expected_errors(self) -> list[BaseException]:
        """The errors the bot handled since the last call (refusals); teardown ignores them."""
        errors = list(self.env.errors_since(self._acknowledged))
        self._acknowledged = self.env.error_cursor
        return errors


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    opened = World(settings)
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def env(world: World) -> simcord.Env:
    """The simcord environment itself, so simcord's pytest hooks see it."""
    return world.env


@pytest.fixture
def server(world: World) -> Server:
    return world.server()
