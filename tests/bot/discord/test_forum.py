"""Forum posts and threads: a new post in a question forum is answered in its thread, and in any
thread a mention, a reply to the bot or /ask is answered there; other thread chatter is not."""

from __future__ import annotations

import discord

from tests.bot.discord.helpers import assert_never_pings, open_post, open_thread
from tests.bot.discord.test_ask import assert_seed_answer
from tests.conftest import SEED_QUESTION
from tests.retrieval.test_followup import PLATFORMS

SEED_TITLE = "Special Operations forces"


async def question_forum(world, server, **changes):
    """A forum listed in discord.question_channels (the bot restarted with it)."""
    forum = server.guild.create_forum_channel("help")
    await world.restart(question_channels=(forum.id,), **changes)
    return forum


async def test_a_new_post_is_answered_in_its_thread(world, server):
    forum = await question_forum(world, server)

    post = await open_post(world.env, forum, server.member, SEED_TITLE, "how many are sent?")

    assert isinstance(world.bot.get_channel(forum.id), discord.ForumChannel)
    starter, reply = post.history()
    assert starter.id == post.id
    assert reply.author.id == world.bot.user.id
    assert reply.reference is not None and reply.reference.message_id == post.id
    assert_seed_answer(reply.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.question) == ("forum", f"{SEED_TITLE}\nhow many are sent?")
    assert logged.channel_id == str(post.id)
    assert forum.history() == []  # nothing is posted in the forum itself
    assert_never_pings(world.env)


async def test_the_bot_joins_a_new_post_and_answers_it_even_if_its_message_never_came(
    world, server
):
    forum = await question_forum(world, server)

    post = await open_post(
        world.env, forum, server.member, SEED_TITLE, "how many?", first_message_event=False
    )

    assert world.bot.user.id in world.env.backend.channels[post.id].thread_members
    starter, reply = post.history()  # fetched after THREAD_CREATE, answered once
    assert reply.reference is not None and reply.reference.message_id == starter.id
    assert_seed_answer(reply.content)
    fetched = [e for e in world.env.http_requests if e.method == "GET" and str(post.id) in e.path]
    assert fetched, "the first message was not fetched"
    # With both events, it is answered once and never fetched.
    requests = len(world.env.http_requests)
    second = await open_post(world.env, forum, server.member, SEED_TITLE, "how many?")
    assert [m.author.id for m in second.history()] == [server.member.id, world.bot.user.id]
    assert not [
        e
        for e in world.env.http_requests[requests:]
        if e.method == "GET" and "/messages/" in e.path
    ]


async def test_later_messages_in_a_post_are_answered_only_when_they_ask_the_bot(world, server):
    forum = await question_forum(world, server)
    post = await open_post(world.env, forum, server.member, SEED_TITLE, "how many are sent?")
    answer = post.last_message

    await server.member.send(post, "thanks, that helps a lot")
    await server.moderator.send(post, "glad it worked out")
    assert post.last_message.author.id == server.moderator.id  # chatter is not answered

    await server.member.send(post, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    assert_seed_answer(post.last_message.content)
    await server.member.send(post, SEED_QUESTION, reply_to=answer)
    assert post.last_message.author.id == world.bot.user.id
    assert_seed_answer(post.last_message.content)

    logged = await world.bot.store.interactions(server.guild.id)
    assert [row.via for row in logged] == ["mention", "mention", "forum"]
    assert {row.channel_id for row in logged} == {str(post.id)}


async def test_a_forum_that_is_not_a_question_channel_is_left_alone(world, server):
    await world.restart(message_content_intent=True)
    forum = server.guild.create_forum_channel("showcase")

    post = await open_post(world.env, forum, server.member, SEED_TITLE, "how many are sent?")

    assert [m.author.id for m in post.history()] == [server.member.id]
    await server.member.send(post, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    assert_seed_answer(post.last_message.content)  # a mention is answered anywhere


async def test_without_the_content_intent_a_post_is_answered_from_its_title(world, server):
    # A forum added with /settings: the bot runs without the privileged intent, and the post's
    # first message reaches it empty, but its title comes with the thread.
    assert not world.bot.intents.message_content
    forum = server.guild.create_forum_channel("help")
    await server.moderator.slash(server.channel, "settings add-channel", channel=forum)

    post = await open_post(world.env, forum, server.member, SEED_QUESTION, "details in the title")

    assert_seed_answer(post.last_message.content)
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.question) == ("forum", SEED_QUESTION)


async def test_threads_of_a_question_channel_answer_only_mentions_and_replies(world, server):
    await world.restart(question_channels=(server.channel.id,))
    thread = await open_thread(world.env, server.channel, server.member, "about the forces")

    await server.member.send(thread, SEED_QUESTION)
    assert thread.last_message.author.id == server.member.id  # thread chatter is not answered

    await server.member.send(thread, f"<@{world.bot.user.id}> {SEED_QUESTION}")
    reply = thread.last_message
    assert reply.author.id == world.bot.user.id and reply.channel.id == thread.id
    assert_seed_answer(reply.content)
    await server.member.send(thread, SEED_QUESTION, reply_to=reply)
    assert thread.last_message.author.id == world.bot.user.id
    # All of it in the thread; the parent's "started a thread" notice is no question either.
    (notice,) = server.channel.history()
    assert notice.type is discord.MessageType.thread_created
    logged = await world.bot.store.interactions(server.guild.id)
    assert [(row.via, row.channel_id) for row in logged] == [("mention", str(thread.id))] * 2


async def test_slash_ask_in_a_thread_is_answered_in_the_thread(world, server):
    thread = await open_thread(world.env, server.channel, server.member, "questions")

    result = await server.member.slash(thread, "ask", question=SEED_QUESTION)

    assert_seed_answer(result.response.content)
    assert thread.last_message.id == result.response.id
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.channel_id) == ("slash", str(thread.id))


async def add_platforms(server) -> None:
    text = " ".join(PLATFORMS) + "\n"
    added = await server.moderator.slash(server.channel, "docs add", text=text, title="Platforms")
    assert "Added" in added.response.content


async def test_a_follow_up_in_a_post_leans_on_the_posts_question(world, server):
    forum = await question_forum(world, server)
    await add_platforms(server)
    post = await open_post(
        world.env, forum, server.member, "Gadget repairs", "how are gadgets repaired on linux?"
    )
    assert "at home by their owners" in post.last_message.content

    await server.member.send(post, f"<@{world.bot.user.id}> what about windows?")

    follow_up = post.last_message.content
    assert "in the workshop behind the main office" in follow_up
    assert "Gadget repairs" not in follow_up and "linux?" not in follow_up  # never quoted
    assert "— sentence 4" in follow_up
    logged = (await world.bot.store.interactions(server.guild.id))[0]
    assert (logged.via, logged.question) == ("mention", "what about windows?")
    # Outside the thread the same words have no earlier question to lean on.
    await server.member.send(server.channel, f"<@{world.bot.user.id}> what about windows?")
    assert "in the workshop behind the main office" not in server.channel.last_message.content


async def test_a_follow_up_in_a_thread_leans_on_its_first_question(world, server):
    await add_platforms(server)
    thread = await open_thread(world.env, server.channel, server.member, "installing")
    await server.member.send(thread, f"<@{world.bot.user.id}> how do widgets install on linux?")
    first = thread.last_message
    assert "package manager" in first.content

    await server.member.send(thread, "what about windows?", reply_to=first)
    assert "setup wizard" in thread.last_message.content.split("\n")[0]

    # /ask in the thread too (Linux, from the first question); a question that stands on its
    # own is ranked on its own.
    result = await server.member.slash(thread, "ask", question="and how are gadgets repaired?")
    assert "at home by their owners" in result.response.content.split("\n")[0]
    alone = await server.member.slash(thread, "ask", question="where are gadgets shipped from?")
    assert "warehouse" in alone.response.content.split("\n")[0]


async def test_a_follow_up_in_a_post_the_bot_did_not_answer_leans_on_the_post(world, server):
    # Not a question forum: nothing logged there, so the post itself (cached) is the context.
    await world.restart(message_content_intent=True)
    await add_platforms(server)
    forum = server.guild.create_forum_channel("chat")
    post = await open_post(
        world.env, forum, server.member, "Repairs", "how are gadgets repaired on linux?"
    )
    assert [m.author.id for m in post.history()] == [server.member.id]

    await server.moderator.send(post, f"<@{world.bot.user.id}> what about windows?")

    assert "in the workshop behind the main office" in post.last_message.content.split("\n")[0]
