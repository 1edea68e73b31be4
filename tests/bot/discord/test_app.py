"""Starting the bot: development guilds get the commands at start, nothing is synced globally."""

from __future__ import annotations

from contextlib import AsyncExitStack

import discord
import pytest
import simcord

from bot.discord.app import create_bot
from bot.engine.fetch import Fetcher
from bot.main import open_library
from tests.bot.discord.conftest import make_settings
from tests.conftest import SEED_QUESTION

DEV_GUILD = 123456789012345678


async def test_commands_are_synced_to_development_guilds_at_start_and_nowhere_else(tmp_path):
    settings = make_settings(tmp_path, dev_guilds=(DEV_GUILD,))
    async with AsyncExitStack() as stack:
        library = await stack.enter_async_context(open_library(settings))
        fetcher = await stack.enter_async_context(Fetcher.open(settings.documents))
        env = simcord.Env(create_bot(settings, library.store, library, fetcher))
        dev = env.create_guild("dev", id=DEV_GUILD)
        dev_channel = dev.create_text_channel("general")
        tester = dev.add_member(env.create_user("tester"))
        await env.start()
        try:
            other = env.create_guild("elsewhere")
            other_channel = other.create_text_channel("general")
            outsider = other.add_member(env.create_user("outsider"))

            assert "ask" in tester.available_commands(dev_channel)
            assert "ask" not in outsider.available_commands(other_channel)
            result = await tester.slash(dev_channel, "ask", question=SEED_QUESTION)
            assert "**Special Operations forces**" in result.response.content
            global_syncs = [
                entry
                for entry in env.http_requests
                if entry.method == "PUT"
                and entry.path.endswith("/commands")
                and "/guilds/" not in entry.path
            ]
            assert global_syncs == []
        finally:
            await env.shutdown()
        assert env.errors_since(0) == ()


@pytest.mark.parametrize("group", ["docs", "qa", "settings"])
async def test_moderator_groups_are_hidden_from_members_and_unavailable_in_dms(world, group):
    # Only hints (server admins can change them; the cogs check in code), but they must be set.
    synced = world.commands[group]
    assert synced.default_member_permissions == discord.Permissions(manage_guild=True)
    assert not synced.dm_permission
