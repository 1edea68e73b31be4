"""Similar questions: a reply links a closely matching question answered before in the same
server ("Asked before: …"); never another server's, never the asker's own, never in DMs."""

from __future__ import annotations

import re

from bot.discord.render import NOT_FOUND, NOT_SURE
from tests.bot.discord.helpers import assert_never_pings, open_post
from tests.bot.discord.test_ask import assert_seed_answer
from tests.conftest import SEED_QUESTION

PARAPHRASE = "How many special operations forces are being sent?"
ASKED_BEFORE = re.compile(r"^-# Asked before: (\S+)$", re.MULTILINE)


def asked_before(content: str) -> str | None:
    found = ASKED_BEFORE.findall(content)
    assert len(found) <= 1, content
    return found[0] if found else None


async def test_a_close_question_links_the_one_asked_before(world, server):
    first = await server.member.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    assert asked_before(server.channel.last_message.content) is None
    # The asker's own earlier question is not worth a link.
    await server.member.send(server.channel, f"<@{world.bot.user.id}> {PARAPHRASE}")
    assert asked_before(server.channel.last_message.content) is None
    other = server.guild.add_member(world.env.create_user("other"))

    await other.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")

    reply = server.channel.last_message.content
    assert_seed_answer(reply)  # the quoted answer, and beside it the link
    assert asked_before(reply) == first.jump_url  # the closest: the very same words
    assert reply.splitlines()[-1] == f"-# Asked before: {first.jump_url}"
    # An unrelated question links nothing.
    await other.send(server.channel, f"<@{world.bot.user.id}> who is Ashton Carter?")
    assert asked_before(server.channel.last_message.content) is None
    assert_never_pings(world.env)


async def test_never_across_servers(world, server):
    other = world.server("elsewhere")
    await server.member.send(server.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")

    asked = await other.member.send(other.channel, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    reply = other.channel.last_message.content
    assert_seed_answer(reply)
    assert asked_before(reply) is None  # the only match is in another server

    await other.moderator.send(other.channel, f"<@{world.bot.user.id}> {PARAPHRASE}")
    assert asked_before(other.channel.last_message.content) == asked.jump_url
    assert f"/{server.guild.id}/" not in other.channel.last_message.content


async def test_a_slash_question_is_linked_by_its_answer(world, server):
    result = await server.member.slash(server.channel, "ask", question=SEED_QUESTION)
    answer_url = (
        f"https://discord.com/channels/{server.guild.id}/{server.channel.id}/{result.response.id}"
    )
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    (stored,) = await world.bot.store.asked_before(server.guild.id, limit=5)
    assert (stored.id, stored.link) == (logged.id, answer_url)

    later = await server.moderator.slash(server.channel, "ask", question=PARAPHRASE)

    assert asked_before(later.response.content) == answer_url


async def test_a_solved_post_is_linked_even_when_the_documents_fall_short(world, server):
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,))
    post = await open_post(world.env, forum, server.member, "Forces", SEED_QUESTION)
    post_url = f"https://discord.com/channels/{server.guild.id}/{post.id}/{post.id}"
    await server.member.slash(post, "solved")
    second = await open_post(world.env, forum, server.moderator, "Forces", PARAPHRASE)
    assert asked_before(second.last_message.content) == post_url
    # The documents no longer answer it here: the solved post still helps, a post that was
    # answered but never marked solved does not.
    await server.moderator.slash(server.channel, "settings threshold", value=1.0)
    third = server.guild.add_member(world.env.create_user("third"))

    await third.send(server.channel, f"<@{world.bot.user.id}> {PARAPHRASE}")

    reply = server.channel.last_message.content
    assert reply.startswith((NOT_FOUND, NOT_SURE))  # not answered
    assert asked_before(reply) == post_url


async def test_questions_in_the_same_thread_are_not_linked(world, server):
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,))
    post = await open_post(world.env, forum, server.member, "Forces", SEED_QUESTION)

    await server.moderator.send(post, f"<@{world.bot.user.id}> {PARAPHRASE}")

    assert asked_before(post.last_message.content) is None


async def test_direct_messages_never_link_anything(world, server):
    other = server.guild.add_member(world.env.create_user("other"))
    await server.member.send_dm(SEED_QUESTION)
    await other.user.send_dm(PARAPHRASE)

    assert asked_before(other.user.dm_channel.last_message.content) is None
    assert await world.bot.store.asked_before(0, limit=5) == []  # DMs keep no link at all
