"""The hand-off to a person: the support role is pinged only when configured, only in a question
channel or forum post, only when the documents do not cover the question or an answer gets a
👎 (once), and nobody else is ever pinged: checked on the wire."""

from __future__ import annotations

from bot.discord.render import NOT_FOUND
from tests.bot.discord.helpers import (
    assert_never_pings,
    open_post,
    open_thread,
    pinged_roles,
    role_pings,
)
from tests.bot.discord.test_ask import UNKNOWN_QUESTION, assert_seed_answer
from tests.conftest import SEED_QUESTION


def call(role) -> str:
    return f"<@&{role.id}> can you help? The documents do not cover this question."


async def support(world, server, *, channels=None, **changes):
    """A mentionable support role, configured with the server's channel as a question channel."""
    role = server.guild.create_role("Support", mentionable=True)
    await world.restart(
        question_channels=channels or (server.channel.id,), support_role=role.id, **changes
    )
    return role


async def test_not_covered_in_a_question_channel_calls_the_role_in(world, server):
    role = await support(world, server)

    await server.member.send(server.channel, UNKNOWN_QUESTION)

    reply = server.channel.last_message
    assert reply.content == f"{NOT_FOUND}\n{call(role)}"
    assert reply.components == []
    assert role_pings(world.env, role.id) == [reply.content]
    assert pinged_roles(world.env, server.channel)[-1] == [role.id]
    assert reply.mentions == [] and not reply.mention_everyone

    # A question the documents cover calls nobody.
    await server.member.send(server.channel, SEED_QUESTION)
    assert_seed_answer(server.channel.last_message.content)
    assert len(role_pings(world.env, role.id)) == 1
    assert pinged_roles(world.env, server.channel)[-1] == []


async def test_not_covered_in_a_forum_post_calls_the_role_in_the_post(world, server):
    forum = server.guild.create_forum_channel("help")
    role = await support(world, server, channels=(forum.id,))

    post = await open_post(world.env, forum, server.member, "Banana bread", UNKNOWN_QUESTION)

    assert post.last_message.content == f"{NOT_FOUND}\n{call(role)}"
    assert pinged_roles(world.env, post)[-1] == [role.id]
    # Later in the post: a mention the documents do not cover calls in again (a new question).
    await server.member.send(post, f"<@{world.bot.user.id}> what about rye bread?")
    assert post.last_message.content.endswith(call(role))
    assert len(role_pings(world.env, role.id)) == 2


async def test_slash_ask_in_a_question_channel_calls_the_role_in(world, server):
    role = await support(world, server)

    result = await server.member.slash(server.channel, "ask", question=UNKNOWN_QUESTION)

    assert result.response.content == f"{NOT_FOUND}\n{call(role)}"
    assert role_pings(world.env, role.id) == [result.response.content]


async def test_nobody_is_called_outside_question_channels(world, server):
    role = await support(world, server)
    elsewhere = server.guild.create_text_channel("chat")
    thread = await open_thread(world.env, elsewhere, server.member, "chat thread")

    await server.member.send(elsewhere, f"<@{world.bot.user.id}> {UNKNOWN_QUESTION}")
    await server.member.send(thread, f"<@{world.bot.user.id}> {UNKNOWN_QUESTION}")
    await server.member.slash(elsewhere, "ask", question=UNKNOWN_QUESTION)
    await server.member.send_dm(UNKNOWN_QUESTION)

    assert elsewhere.last_message.content == NOT_FOUND
    assert thread.last_message.content == NOT_FOUND
    assert server.member.user.dm_channel.last_message.content == NOT_FOUND
    assert_never_pings(world.env)
    assert role_pings(world.env, role.id) == []


async def test_without_a_support_role_nobody_is_called(world, server):
    await world.restart(question_channels=(server.channel.id,))

    await server.member.send(server.channel, UNKNOWN_QUESTION)

    assert server.channel.last_message.content == NOT_FOUND
    assert_never_pings(world.env)


async def test_a_thumbs_down_calls_the_role_in_once_per_answer(world, server):
    role = await support(world, server)
    await server.member.send(server.channel, SEED_QUESTION)
    answer = server.channel.last_message
    logged = (await world.bot.store.interactions(server.guild.id))[0]

    liked = await server.moderator.click(answer, custom_id=f"verbatim:fb:{logged.id}:up")
    assert liked.ephemeral and liked.followups == []
    disliked = await server.member.click(answer, custom_id=f"verbatim:fb:{logged.id}:down")

    assert disliked.ephemeral and "recorded 👎" in disliked.response.content
    (called,) = disliked.followups
    assert not called.ephemeral
    assert called.content == f"<@&{role.id}> can you help? This answer was marked unhelpful."
    assert pinged_roles(world.env, server.channel)[-1] == [role.id]
    again = await server.moderator.click(answer, custom_id=f"verbatim:fb:{logged.id}:down")
    assert again.followups == []
    assert role_pings(world.env, role.id) == [called.content]


async def test_a_thumbs_down_outside_question_channels_calls_nobody(world, server):
    role = await support(world, server)
    elsewhere = server.guild.create_text_channel("chat")
    result = await server.member.slash(elsewhere, "ask", question=SEED_QUESTION)
    logged = (await world.bot.store.interactions(server.guild.id))[0]

    clicked = await server.member.click(result.response, custom_id=f"verbatim:fb:{logged.id}:down")

    assert clicked.followups == []
    assert role_pings(world.env, role.id) == []


async def test_the_role_set_with_settings_applies_to_that_server_alone(world, server):
    other = world.server("elsewhere")
    await world.restart(question_channels=(server.channel.id, other.channel.id))
    role = server.guild.create_role("Helpers", mentionable=True)
    await server.moderator.slash(server.channel, "settings support-role", role=role)

    await server.member.send(server.channel, UNKNOWN_QUESTION)
    await other.member.send(other.channel, UNKNOWN_QUESTION)

    assert server.channel.last_message.content.endswith(call(role))
    assert other.channel.last_message.content == NOT_FOUND
    assert role_pings(world.env, role.id) == [server.channel.last_message.content]

    await server.moderator.slash(server.channel, "settings support-role")  # none from now on
    await server.member.send(server.channel, UNKNOWN_QUESTION)
    assert server.channel.last_message.content == NOT_FOUND
