"""Solved forum posts: the post's author or a moderator marks one solved (the button under the
bot's reply, or /solved); the forum's own "Solved" tag is applied (none is created), the post is
archived when asked, and it is logged; a solved post the bot answered is a helpful answer."""

from __future__ import annotations

import discord
import simcord
from simcord.backend.models import Overwrite
from simcord.enums import OverwriteType

from bot.discord.render import NOT_FOUND
from bot.discord.solved import ALREADY, NO_MANAGE_THREADS, NOT_A_POST, NOT_AUTHOR, NotPostAuthor
from tests.bot.discord.helpers import assert_never_pings, give_tags, open_post
from tests.bot.discord.test_ask import UNKNOWN_QUESTION, assert_seed_answer
from tests.conftest import SEED_POST, SEED_QUESTION


async def forum_with_tags(world, server, *tags: str, **changes):
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,), **changes)
    return forum, await give_tags(world.env, forum, *tags)


def thread_state(world, post: simcord.ChannelHandle) -> tuple[list[int], bool]:
    """The post's applied tags and whether it is archived, as Discord (simcord) holds them."""
    thread = world.env.backend.channels[post.id]
    return list(thread.applied_tags), thread.thread_metadata.archived


def buttons(message: discord.Message) -> list[str]:
    return [child.custom_id for row in message.components for child in row.children]


async def stats_line(server) -> str:
    return (await server.moderator.slash(server.channel, "qa stats")).response.content


async def test_the_author_marks_a_post_solved_with_the_button(world, server):
    forum, tags = await forum_with_tags(world, server, "Bug", "Solved")
    post = await open_post(world.env, forum, server.member, *SEED_POST, tags=(tags["Bug"],))
    answer = post.last_message
    assert_seed_answer(answer.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert buttons(answer) == [
        f"verbatim:fb:{logged.id}:up",
        f"verbatim:fb:{logged.id}:down",
        f"verbatim:solved:{logged.id}",
    ]

    clicked = await server.member.click(answer, custom_id=f"verbatim:solved:{logged.id}")

    assert not clicked.ephemeral
    assert clicked.response.content == f"✅ Marked solved by <@{server.member.id}>."
    assert post.last_message.content == clicked.response.content
    assert thread_state(world, post) == ([tags["Bug"], tags["Solved"]], False)
    assert world.bot.get_channel(post.id).applied_tags[-1].name == "Solved"
    assert await stats_line(server) == (
        "**Last 30 days**: 1 questions, 1 answered (100%); feedback 👍 0 👎 0; "
        "1 helpful answer (a 👍 or a solved post); 1 forum post marked solved."
    )
    again = await server.moderator.click(answer, custom_id=f"verbatim:solved:{logged.id}")
    assert again.ephemeral and again.response.content == ALREADY
    assert_never_pings(world.env)


async def test_a_moderator_marks_a_post_solved_and_archives_it(world, server):
    forum, tags = await forum_with_tags(world, server, "Solved")
    post = await open_post(world.env, forum, server.member, *SEED_POST)

    result = await server.moderator.slash(post, "solved", archive=True)

    assert result.response.content == f"✅ Marked solved by <@{server.moderator.id}>."
    assert thread_state(world, post) == ([tags["Solved"]], True)
    solved = await world.bot.store.interactions(server.guild.id)
    assert "1 helpful answer" in await stats_line(server) and solved[0].answered


async def test_the_config_can_archive_every_solved_post(world, server):
    forum, tags = await forum_with_tags(world, server, "Solved", archive_solved=True)
    post = await open_post(world.env, forum, server.member, *SEED_POST)
    logged = (await world.bot.store.interactions(server.guild.id))[0]

    await server.member.click(post.last_message, custom_id=f"verbatim:solved:{logged.id}")

    assert thread_state(world, post) == ([tags["Solved"]], True)


async def test_a_stranger_cannot_mark_a_post_solved(world, server):
    forum, tags = await forum_with_tags(world, server, "Solved")
    post = await open_post(world.env, forum, server.member, *SEED_POST)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    stranger = server.guild.add_member(world.env.create_user("stranger"))

    clicked = await stranger.click(post.last_message, custom_id=f"verbatim:solved:{logged.id}")
    command = await stranger.slash(post, "solved", archive=True)

    assert clicked.ephemeral and clicked.response.content == NOT_AUTHOR
    assert command.ephemeral and command.response.content == NOT_AUTHOR
    assert [type(e) for e in world.expected_errors()] == [NotPostAuthor]
    assert thread_state(world, post) == ([], False)
    assert "0 forum posts marked solved" in await stats_line(server)


async def test_no_tag_is_created_when_the_forum_has_none(world, server):
    forum, _ = await forum_with_tags(world, server, "Bug")
    post = await open_post(world.env, forum, server.member, *SEED_POST)

    result = await server.member.slash(post, "solved")

    assert result.response.content.startswith("✅ Marked solved")
    assert thread_state(world, post) == ([], False)
    assert [t["name"] for t in world.env.backend.channels[forum.id].available_tags] == ["Bug"]
    assert "1 forum post marked solved" in await stats_line(server)
    edits = [e for e in world.env.http_requests if e.method == "PATCH"]
    assert edits == []  # nothing to change: no request at all


async def test_a_post_the_bot_did_not_answer_is_solved_but_credits_no_answer(world, server):
    forum, tags = await forum_with_tags(world, server, "Solved")
    post = await open_post(world.env, forum, server.member, "Baking", UNKNOWN_QUESTION)
    reply = post.last_message
    assert reply.content == NOT_FOUND
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert buttons(reply) == [f"verbatim:solved:{logged.id}"]  # no 👍/👎 on "not found"

    await server.member.click(reply, custom_id=f"verbatim:solved:{logged.id}")

    assert thread_state(world, post) == ([tags["Solved"]], False)
    line = await stats_line(server)
    assert "0 helpful answers" in line and "1 forum post marked solved" in line


async def test_solved_outside_a_forum_post_is_refused(world, server):
    result = await server.member.slash(server.channel, "solved")

    assert result.ephemeral and result.response.content == NOT_A_POST
    assert len(world.expected_errors()) == 1
    # Replies outside forum posts have no "Solved" button.
    await server.member.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    assert not any("solved" in b for b in buttons(server.channel.last_message))


async def test_without_manage_threads_the_post_is_still_logged_and_the_moderator_told(
    world, server
):
    forum, tags = await forum_with_tags(world, server, "Solved")
    denied = discord.Permissions(manage_threads=True, manage_channels=True).value
    world.env.backend.set_overwrite(
        forum.id, Overwrite(world.bot.user.id, OverwriteType.MEMBER, allow=0, deny=denied)
    )
    post = await open_post(world.env, forum, server.member, *SEED_POST)

    result = await server.moderator.slash(post, "solved", archive=True)

    assert result.response.content.startswith("✅ Marked solved")
    (told,) = result.followups
    assert told.ephemeral and told.content == NO_MANAGE_THREADS
    assert thread_state(world, post) == ([], False)
    assert "1 forum post marked solved" in await stats_line(server)
