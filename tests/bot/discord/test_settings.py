"""Moderators change their server's settings with /settings: stored, logged, in force at once."""

from __future__ import annotations

import pytest

from bot.config import RetrievalSettings
from bot.discord.app import CoolingDown
from bot.discord.checks import NOT_MODERATOR, NotModerator
from bot.discord.cogs.settings import NO_CONTENT_INTENT
from bot.discord.render import NOT_FOUND, NOT_SURE
from tests.bot.discord.test_ask import assert_seed_answer
from tests.conftest import SEED_QUESTION

DEFAULT_THRESHOLD = RetrievalSettings().min_confidence

SUBCOMMANDS = [
    ("settings show", {}),
    ("settings add-channel", {"channel": "channel"}),
    ("settings remove-channel", {"channel": "channel"}),
    ("settings support-role", {}),
    ("settings cooldown", {"questions": 1, "seconds": 60.0}),
    ("settings threshold", {"value": 1.0}),
    ("settings reset", {"setting": "min_confidence"}),
]


def show_lines(result) -> list[str]:
    assert result.ephemeral
    return result.response.content.splitlines()


async def test_show_lists_the_defaults_from_the_config(world, server):
    await world.restart(cooldown_questions=4, cooldown_seconds=30.0)

    shown = await server.moderator.slash(server.channel, "settings show")

    assert show_lines(shown) == [
        "**Settings of this server**",
        "Question channels: none (default)",
        "Support role: none (default)",
        "Cooldown questions: 4 (default)",
        "Cooldown seconds: 30 s (default)",
        f"Answer threshold: {DEFAULT_THRESHOLD:.2f} (default)",
    ]


async def test_a_question_channel_added_works_at_once_and_survives_a_restart(world, server):
    await world.restart(message_content_intent=True)
    forum = server.guild.create_forum_channel("help")
    await server.member.send(server.channel, SEED_QUESTION)
    assert server.channel.last_message.author.id == server.member.id  # not a question channel

    added = await server.moderator.slash(
        server.channel, "settings add-channel", channel=server.channel
    )
    await server.moderator.slash(server.channel, "settings add-channel", channel=forum)

    assert "Question channels: " in added.response.content
    assert NO_CONTENT_INTENT not in added.response.content
    await server.member.send(server.channel, SEED_QUESTION)
    assert_seed_answer(server.channel.last_message.content)

    await world.restart()
    settings = world.bot.server_settings.of(server.guild.id)
    assert settings.question_channels == {server.channel.id, forum.id}
    shown = await server.moderator.slash(server.channel, "settings show")
    assert f"Question channels: <#{min(server.channel.id, forum.id)}>, " in shown.response.content
    assert "(set here)" in shown.response.content

    await server.moderator.slash(server.channel, "settings remove-channel", channel=server.channel)
    asked = await server.member.send(server.channel, SEED_QUESTION)
    assert server.channel.last_message.id == asked.id  # no longer answered
    assert world.bot.server_settings.of(server.guild.id).question_channels == {forum.id}


async def test_adding_a_channel_without_the_content_intent_says_what_it_means(world, server):
    added = await server.moderator.slash(
        server.channel, "settings add-channel", channel=server.channel
    )
    assert NO_CONTENT_INTENT in added.response.content


async def test_every_change_is_logged_with_who_made_it(world, server):
    role = server.guild.create_role("Helpers")
    await server.moderator.slash(server.channel, "settings support-role", role=role)
    await server.moderator.slash(server.channel, "settings threshold", value=0.5)
    await server.moderator.slash(server.channel, "settings reset", setting="min_confidence")

    changes = await world.bot.store.setting_changes(server.guild.id)
    assert [(c.key, c.value, c.changed_by) for c in changes] == [
        ("min_confidence", None, str(server.moderator.id)),
        ("min_confidence", "0.5", str(server.moderator.id)),
        ("support_role", str(role.id), str(server.moderator.id)),
    ]
    shown = show_lines(await server.moderator.slash(server.channel, "settings show"))
    assert f"Support role: <@&{role.id}> (set here)" in shown
    assert f"Answer threshold: {DEFAULT_THRESHOLD:.2f} (default)" in shown
    assert shown[-3].endswith(f"<@{server.moderator.id}>: Answer threshold back to the default")
    assert shown[-2].endswith(f"<@{server.moderator.id}>: Answer threshold → 0.50")

    # No role given: nobody, set explicitly (the config's role no longer applies here).
    await server.moderator.slash(server.channel, "settings support-role")
    assert world.bot.server_settings.of(server.guild.id).support_role is None


async def test_the_threshold_is_the_servers_own(world, server):
    other = world.server("elsewhere")
    await server.moderator.slash(server.channel, "settings threshold", value=1.0)

    strict = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    usual = await other.member.slash(other.channel, "ask", question=SEED_QUESTION)

    # Not answered: at most the closest passages, labelled as possibly not answering.
    assert strict.response.content == NOT_FOUND or strict.response.content.startswith(NOT_SURE)
    assert_seed_answer(usual.response.content)

    await server.moderator.slash(server.channel, "settings reset", setting="min_confidence")
    again = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    assert_seed_answer(again.response.content)


async def test_the_cooldown_is_the_servers_own(world, server):
    other = world.server("elsewhere")
    await server.moderator.slash(server.channel, "settings cooldown", questions=1, seconds=60.0)

    first = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    second = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    assert not first.ephemeral
    assert second.ephemeral and "try again in" in second.response.content
    assert [type(e) for e in world.expected_errors()] == [CoolingDown]
    # The config's default (cooldown off in these tests) still holds in another server.
    for _ in range(3):
        assert not (
            await other.member.slash(other.channel, "ask", question=SEED_QUESTION)
        ).ephemeral


@pytest.mark.parametrize(("name", "options"), SUBCOMMANDS)
async def test_members_are_refused(world, server, name, options):
    world.open_to_everyone(server, "settings")
    options = {k: server.channel if v == "channel" else v for k, v in options.items()}

    result = await server.member.slash(server.channel, name, **options)

    assert result.ephemeral and result.response.content == NOT_MODERATOR
    assert [type(error) for error in world.expected_errors()] == [NotModerator]
    assert await world.bot.store.setting_changes(server.guild.id) == []
    assert world.bot.server_settings.of(server.guild.id).own == frozenset()
