"""Bot construction pieces that need no Discord: intents, endpoints, cooldown, error texts."""

from __future__ import annotations

import discord
import pytest
from discord import app_commands

from bot.config import DiscordSettings
from bot.discord.app import EXTENSIONS, CoolingDown, intents_for, use_endpoints, user_message
from bot.discord.checks import NOT_MODERATOR, NotModerator
from bot.discord.cooldown import Cooldown
from bot.errors import DocumentNotFoundError


def test_message_content_is_only_requested_for_question_channels():
    assert not intents_for(DiscordSettings()).message_content
    assert intents_for(DiscordSettings(question_channels=(1,))).message_content
    assert intents_for(DiscordSettings(message_content_intent=True)).message_content
    plain = intents_for(DiscordSettings())
    assert plain.guilds and plain.guild_messages and plain.dm_messages
    assert not plain.members and not plain.presences


@pytest.fixture
def restore_endpoints():
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    yield
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway


def test_endpoints_point_discord_py_elsewhere_only_when_set(restore_endpoints):
    use_endpoints(DiscordSettings())
    assert discord.http.Route("GET", "/users/@me").url == "https://discord.com/api/v10/users/@me"

    use_endpoints(
        DiscordSettings(api_base="http://127.0.0.1:9/api/v10/", gateway_url="ws://127.0.0.1:9/")
    )
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    assert str(gateway) == "ws://127.0.0.1:9/"


def test_every_extension_has_a_setup():
    import importlib

    for name in EXTENSIONS:
        assert callable(importlib.import_module(name).setup)


def test_user_errors_get_their_safe_text_and_the_rest_none():
    invoke = app_commands.CommandInvokeError
    command = app_commands.Command(name="x", description="x", callback=_noop)
    assert user_message(invoke(command, DocumentNotFoundError(7))) == "There is no document 7 here."
    assert user_message(NotModerator()) == NOT_MODERATOR
    assert user_message(CoolingDown(4.2)) == "You are asking quickly; try again in 4 s."
    assert user_message(invoke(command, RuntimeError("secret path /etc"))) is None


async def _noop(interaction: discord.Interaction) -> None:
    pass


def test_cooldown_counts_questions_per_user_in_a_window(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    cooldown = Cooldown(questions=2, seconds=10)
    assert cooldown.retry_after(1) == 0 and cooldown.retry_after(1) == 0
    assert cooldown.retry_after(1) == pytest.approx(10)
    assert cooldown.retry_after(2) == 0  # another user is not slowed down
    now[0] = 105.0
    assert cooldown.retry_after(1) == pytest.approx(5)
    now[0] = 110.0
    assert cooldown.retry_after(1) == 0
    assert Cooldown(questions=1, seconds=0).retry_after(1) == 0  # 0 s turns it off


def test_cooldown_limits_can_be_given_per_call(monkeypatch):
    # A server's own cooldown replaces the default for its members; keys can be any value.
    now = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    cooldown = Cooldown(questions=3, seconds=10)
    assert cooldown.retry_after((7, 1), questions=1, seconds=60) == 0
    assert cooldown.retry_after((7, 1), questions=1, seconds=60) == pytest.approx(60)
    assert cooldown.retry_after((8, 1)) == 0  # the same user in another server
    # Lowered while four questions are in the window: the second-newest must age out first.
    for second in (1.0, 2.0, 3.0, 4.0):
        now[0] = 200.0 + second
        assert cooldown.retry_after("u", questions=5, seconds=10) == 0
    assert cooldown.retry_after("u", questions=2, seconds=10) == pytest.approx(9)
    assert cooldown.retry_after("u", questions=2, seconds=0) == 0  # 0 s turns it off
