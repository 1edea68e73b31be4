"""`verbatim run` over the wire with forum posts (type 15) and threads (type 11), offline.

A post reaches the bot as Discord sends it: THREAD_CREATE for its thread, then MESSAGE_CREATE
for its first message, whose id is the thread's. Every reply's JSON payload is checked,
allowed_mentions included.
"""

from __future__ import annotations

import signal

from tests.conftest import SEED_ANSWER, SEED_QUESTION
from tests.e2e.fake_discord import IDENTIFY, FakeDiscord
from tests.e2e.test_run import (
    REPLY_TIMEOUT,
    SEED_CITATION,
    START_TIMEOUT,
    assert_pings_nobody,
    assert_quiet,
    plain,
    verbatim_run,
)

MESSAGE_CONTENT_INTENT = 1 << 15


async def post_and_wait(discord: FakeDiscord, title: str, content: str) -> tuple[dict, dict]:
    """Open a forum post; its thread and the bot's reply in it (the JSON the bot sent)."""
    thread, starter = discord.forum_post(title, content)
    requests = len(discord.requests)
    await discord.dispatch("THREAD_CREATE", thread)
    await discord.dispatch("MESSAGE_CREATE", starter)
    reply = await discord.wait_for_request(
        "POST", rf"/channels/{thread['id']}/messages", after=requests, timeout=REPLY_TIMEOUT
    )
    return thread, reply.json


async def test_forum_posts_and_threads_over_the_wire(tmp_path):
    async with (
        FakeDiscord() as discord,
        verbatim_run(tmp_path, discord, f"question_channels = [{discord.forum_id}]\n") as verbatim,
    ):
        identify = await discord.wait_for_frame(IDENTIFY, timeout=START_TIMEOUT)
        assert identify.data["intents"] & MESSAGE_CONTENT_INTENT  # a question channel needs it

        # A new post is answered in its thread, replying to its first message.
        thread, reply = await post_and_wait(discord, "Special Operations forces", SEED_QUESTION)
        assert SEED_ANSWER in plain(reply["content"])
        assert SEED_CITATION in reply["content"]
        assert str(reply["message_reference"]["message_id"]) == thread["id"]
        assert_pings_nobody(reply)

        # Chatter in the post is not answered; a mention there is, in the post.
        requests = len(discord.requests)
        chatter = discord.message("thanks!", channel_id=thread["id"])
        await discord.dispatch("MESSAGE_CREATE", chatter)
        asked = discord.message(
            f"<@{discord.bot_user['id']}> {SEED_QUESTION}",
            channel_id=thread["id"],
            mentions=(discord.bot_user,),
        )
        await discord.dispatch("MESSAGE_CREATE", asked)
        answered = await discord.wait_for_request(
            "POST", rf"/channels/{thread['id']}/messages", after=requests, timeout=REPLY_TIMEOUT
        )
        assert str(answered.json["message_reference"]["message_id"]) == asked["id"]
        assert_pings_nobody(answered.json)

        # A thread (type 11) in the text channel: a mention is answered in the thread.
        side = discord.thread("a side question")
        await discord.dispatch("THREAD_CREATE", side)
        requests = len(discord.requests)
        in_thread = discord.message(
            f"<@{discord.bot_user['id']}> {SEED_QUESTION}",
            channel_id=side["id"],
            mentions=(discord.bot_user,),
        )
        await discord.dispatch("MESSAGE_CREATE", in_thread)
        threaded = await discord.wait_for_request(
            "POST", r"/channels/\d+/messages", after=requests, timeout=REPLY_TIMEOUT
        )
        assert threaded.path == f"/channels/{side['id']}/messages"
        assert SEED_ANSWER in plain(threaded.json["content"])
        assert_pings_nobody(threaded.json)

        assert await verbatim.stop(signal.SIGTERM) == 0
        assert_quiet(verbatim.log())
        assert discord.unrouted == []
        # The chatter got nothing: three replies in all.
        posted = [r for r in discord.requests if r.method == "POST" and "/messages" in r.path]
        assert len(posted) == 3
