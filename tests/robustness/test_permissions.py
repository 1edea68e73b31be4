"""Who may do what: every moderator command x (moderator, member, member of another server, DM),
and marking a forum post solved x (its author, a moderator, another member, DM).

Only a server's moderators change or read that server's documents, log and settings. Members are
refused even when a server admin opens the commands to everyone; someone from another server,
even its moderator, reaches nothing of this one with its ids; in a DM the commands do not exist.
A post is marked solved by its author or a moderator only, by command or button.
"""

from __future__ import annotations

import pytest
import simcord

from bot.discord.checks import NOT_MODERATOR
from bot.discord.solved import NOT_AUTHOR
from tests.bot.discord.helpers import open_post
from tests.conftest import SEED_QUESTION
from tests.robustness.discord_world import running_world

SECRET = "The vault code of the secret server is kept in the locked drawer of the east office.\n"
SECRET_QUESTION = "where is the vault code kept?"


def commands(document_id: int, user, channel) -> list[tuple[str, dict]]:
    """Every moderator command with options aimed at the home server's document, member and
    channel."""
    return [
        ("settings show", {}),
        ("settings add-channel", {"channel": channel}),
        ("settings remove-channel", {"channel": channel}),
        ("settings support-role", {}),
        ("settings cooldown", {"questions": 1, "seconds": 600.0}),
        ("settings threshold", {"value": 1.0}),
        ("settings reset", {"setting": "cooldown_seconds"}),
        ("docs list", {}),
        ("docs show", {"document": str(document_id)}),
        ("qa recent", {}),
        ("qa unanswered", {}),
        ("qa stats", {}),
        ("qa export", {}),
        ("docs add", {"text": "Members may not add this sentence to the documents.\n"}),
        ("docs replace", {"document": str(document_id), "text": "Replaced by an intruder.\n"}),
        ("qa forget", {"user": user}),
        ("docs remove", {"document": str(document_id)}),
    ]


async def snapshot(world, scope: int) -> tuple:
    documents = await world.bot.store.list_documents(scope)
    sentences = [
        [s.text for s in await world.bot.store.document_sentences(d.id)] for d in documents
    ]
    log = await world.bot.store.interactions(scope, limit=1000)
    settings = await world.bot.store.setting_changes(scope, limit=1000)
    return (
        documents,
        sentences,
        [(r.id, r.question, r.thumbs_up) for r in log],
        settings,
        world.bot.server_settings.of(scope),
    )


async def visible_text(result: simcord.InteractionResult) -> str:
    """Everything the reply showed: its text and any attached file (the CSV export)."""
    message = result.response
    parts = [message.content or ""]
    for attachment in message.attachments:
        parts.append((await attachment.read()).decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture
async def world(tmp_path):
    async with running_world(tmp_path) as opened:
        yield opened


@pytest.fixture
def env(world):
    return world.env


@pytest.fixture
async def home(world):
    server = world.server("home")
    added = await server.moderator.slash(
        server.channel, "docs add", file=("vault.txt", SECRET.encode()), title="Vault secrets"
    )
    assert "added" in added.response.content.lower(), added.response.content
    await server.member.slash(server.channel, "ask", question=SECRET_QUESTION)
    document = (await world.bot.store.list_documents(server.guild.id))[0]
    return server, document.id


async def test_a_moderator_may_run_every_command(world, home):
    server, document_id = home
    for name, options in commands(document_id, server.member.user, server.channel):
        result = await server.moderator.slash(server.channel, name, **options)
        assert result.acknowledged, name
        assert result.ephemeral, name
        assert NOT_MODERATOR not in await visible_text(result), name
    assert not world.expected_errors()
    # It added one document, replaced and removed the other, and forgot the member.
    (left,) = await world.bot.store.list_documents(server.guild.id)
    assert left.id != document_id
    assert await world.bot.store.interactions(server.guild.id) == []


async def test_a_member_is_refused_every_command_and_nothing_changes(world, home):
    server, document_id = home
    world.open_to_everyone(server, "docs", "qa", "settings")
    before = await snapshot(world, server.guild.id)
    for name, options in commands(document_id, server.member.user, server.channel):
        result = await server.member.slash(server.channel, name, **options)
        assert result.ephemeral, name
        assert await visible_text(result) == NOT_MODERATOR, name
    assert await snapshot(world, server.guild.id) == before
    expected = commands(document_id, server.member.user, server.channel)
    assert len(world.expected_errors()) == len(expected)


@pytest.mark.parametrize("role", ["moderator", "member"])
async def test_another_server_reaches_nothing_of_this_one(world, home, role):
    server, document_id = home
    other = world.server("elsewhere")
    world.open_to_everyone(other, "docs", "qa", "settings")
    actor = getattr(other, role)
    # Another server cannot even see this server's channel.
    with pytest.raises(Exception):  # noqa: B017 - simcord refuses, with its own error type
        await actor.slash(server.channel, "docs list")
    before = await snapshot(world, server.guild.id)
    # Its own channel: a channel option cannot even name another server's channel.
    for name, options in commands(document_id, server.member.user, other.channel):
        result = await actor.slash(other.channel, name, **options)
        text = await visible_text(result)
        assert "Vault secrets" not in text and "vault code" not in text, (name, text)
        if role == "member":
            assert text == NOT_MODERATOR, name
    assert await snapshot(world, server.guild.id) == before
    world.expected_errors()
    # And its members' questions are never answered from this server's documents.
    asked = await other.member.slash(other.channel, "ask", question=SECRET_QUESTION)
    assert "vault code" not in asked.response.content


async def test_in_a_dm_the_moderator_commands_do_not_exist(world, home):
    server, document_id = home
    user = server.moderator.user
    dm_commands = user.available_commands()
    assert "ask" in dm_commands
    before = await snapshot(world, server.guild.id)
    for name, options in commands(document_id, server.member.user, server.channel):
        assert name not in dm_commands
        with pytest.raises(Exception):  # noqa: B017 - not registered for DMs
            await user.slash(name, **options)
    assert await snapshot(world, server.guild.id) == before
    # A question in a DM answers from the global documents only.
    await user.send_dm(SECRET_QUESTION)
    assert "vault code" not in user.dm_channel.last_message.content
    await user.send_dm(SEED_QUESTION)
    assert "Special Operations forces" in user.dm_channel.last_message.content


@pytest.mark.parametrize("how", ["button", "command"])
@pytest.mark.parametrize(
    ("who", "allowed"), [("author", True), ("moderator", True), ("stranger", False)]
)
async def test_who_may_mark_a_post_solved(world, how, who, allowed):
    server = world.server("forums")
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,))
    post = await open_post(world.env, forum, server.member, "Forces", SEED_QUESTION)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    actor = {
        "author": server.member,
        "moderator": server.moderator,
        "stranger": server.guild.add_member(world.env.create_user("stranger")),
    }[who]

    if how == "button":
        result = await actor.click(post.last_message, custom_id=f"verbatim:solved:{logged.id}")
    else:
        result = await actor.slash(post, "solved")

    stats = await world.bot.store.stats(server.guild.id)
    if allowed:
        assert not result.ephemeral and result.response.content.startswith("✅ Marked solved")
        assert stats.solved == 1
    else:
        assert result.ephemeral and result.response.content == NOT_AUTHOR
        assert stats.solved == 0
        world.expected_errors()


async def test_marking_solved_is_not_a_dm_command_and_needs_the_post(world):
    server = world.server("forums")
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,))
    post = await open_post(world.env, forum, server.member, "Forces", SEED_QUESTION)
    assert "solved" not in server.member.user.available_commands()
    other = world.server("elsewhere")
    # Another server's members cannot reach the post at all.
    with pytest.raises(Exception):  # noqa: B017 - simcord refuses, with its own error type
        await other.moderator.slash(post, "solved")
    assert (await world.bot.store.stats(server.guild.id)).solved == 0
