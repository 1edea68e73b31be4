"""`verbatim run` over the wire with forum posts (type 15) and threads (type 11), offline.

A post reaches the bot as Discord sends it: THREAD_CREATE for its thread, then MESSAGE_CREATE
for its first message, whose id is the thread's. Every reply's JSON payload is checked,
allowed_mentions included.
"""

from __future__ import annotations

import signal

from tests.bot.discord.test_ask import UNKNOWN_QUESTION
from tests.conftest import SEED_ANSWER, SEED_POST, SEED_QUESTION
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.fake_wire import IDENTIFY
from tests.e2e.test_run import (
    REPLY_TIMEOUT,
    SEED_CITATION,
    START_TIMEOUT,
    assert_pings_nobody,
    assert_quiet,
    feedback_buttons,
    mention,
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

        # A new post is answered in its thread, replying to its first message; the bot joins
        # the post, so its later messages reach it.
        thread, reply = await post_and_wait(discord, "Special Operations forces", SEED_QUESTION)
        await discord.wait_for_request("PUT", rf"/channels/{thread['id']}/thread-members/@me")
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


def assert_pings_only_the_role(payload: dict, role_id: str) -> None:
    """allowed_mentions lets exactly the support role be pinged: no one else, no @everyone."""
    allowed = payload["allowed_mentions"]
    assert allowed["parse"] == [], allowed
    assert [str(role) for role in allowed["roles"]] == [role_id], allowed
    assert not allowed.get("users") and not allowed.get("replied_user"), allowed
    assert payload["content"].count(f"<@&{role_id}>") == 1


async def test_the_support_role_is_called_in_over_the_wire(tmp_path):
    async with FakeDiscord() as discord:
        role = discord.support_role_id
        config = f"question_channels = [{discord.forum_id}]\nsupport_role = {role}\n"
        async with verbatim_run(tmp_path, discord, config) as verbatim:
            await discord.wait_for_frame(IDENTIFY, timeout=START_TIMEOUT)

            # A post the documents do not cover: the reply in the post calls the role in.
            _, not_covered = await post_and_wait(discord, "Baking", UNKNOWN_QUESTION)
            assert not_covered["content"].startswith("The documents do not cover that.\n")
            assert_pings_only_the_role(not_covered, role)

            # A covered one pings nobody; its 👎 calls the role in, once.
            thread, answered = await post_and_wait(discord, *SEED_POST)
            assert_pings_nobody(answered)
            answer = discord.sent[-1]
            thumbs_down = next(i for e, i in feedback_buttons(answered) if e == "👎")
            clicks = []
            for voter in (discord.member_user, discord.owner):
                requests = len(discord.requests)
                click = discord.button_click(answer, thumbs_down, user=voter)
                clicks.append(click)
                await discord.dispatch("INTERACTION_CREATE", click)
                await discord.wait_for_request(
                    "POST", rf"/interactions/{click['id']}/[^/]+/callback", after=requests
                )
            called = await discord.wait_for_request(
                "POST", rf"/webhooks/{discord.application_id}/[^/]+"
            )
            assert called.path.endswith(clicks[0]["token"])  # the first 👎 calls in
            assert "marked unhelpful" in called.json["content"]
            assert_pings_only_the_role(called.json, role)
            assert discord.sent[-1]["channel_id"] == thread["id"]  # the call, in the post

            # Outside the question forum, nothing the bot says pings anyone.
            requests = len(discord.requests)
            asked = await mention(discord, UNKNOWN_QUESTION)
            reply = await discord.wait_for_request(
                "POST", rf"/channels/{discord.channel_id}/messages", after=requests
            )
            assert str(reply.json["message_reference"]["message_id"]) == asked["id"]
            assert_pings_nobody(reply.json)

            assert await verbatim.stop(signal.SIGTERM) == 0
            assert_quiet(verbatim.log())
        # Every message the bot sent: only the two calls allowed a ping, of the role alone.
        sent = [
            r.json.get("data", r.json)
            for r in discord.requests
            if r.method == "POST"
            and isinstance(r.json, dict)
            and "content" in r.json.get("data", r.json)
        ]
        pinging = [p for p in sent if p["allowed_mentions"].get("roles")]
        assert [p["content"] for p in pinging] == [not_covered["content"], called.json["content"]]
        for payload in sent:
            if payload not in pinging:
                assert_pings_nobody(payload)


async def test_a_post_marked_solved_over_the_wire(tmp_path):
    async with FakeDiscord() as discord:
        config = f"question_channels = [{discord.forum_id}]\narchive_solved = true\n"
        async with verbatim_run(tmp_path, discord, config) as verbatim:
            await discord.wait_for_frame(IDENTIFY, timeout=START_TIMEOUT)
            thread, answered = await post_and_wait(discord, *SEED_POST)
            answer = discord.sent[-1]
            buttons = feedback_buttons(answered)
            assert [emoji for emoji, _ in buttons] == ["👍", "👎", "✅"]
            solved = buttons[2][1]

            # Someone else's click is refused, privately; the author's marks it solved.
            for clicker in (discord.owner, discord.member_user):
                requests = len(discord.requests)
                click = discord.button_click(answer, solved, user=clicker)
                await discord.dispatch("INTERACTION_CREATE", click)
                callback = await discord.wait_for_request(
                    "POST", rf"/interactions/{click['id']}/[^/]+/callback", after=requests
                )
                assert_pings_nobody(callback.json["data"])
            refused, marked = [
                r.json["data"] for r in discord.requests if r.path.endswith("/callback")
            ][-2:]
            assert refused["flags"] & (1 << 6) and "author or a moderator" in refused["content"]
            assert not marked.get("flags", 0) & (1 << 6)
            assert marked["content"] == f"✅ Marked solved by <@{discord.member_user['id']}>."

            # Then the forum's "Solved" tag and archiving, in one edit of the thread.
            edit = await discord.wait_for_request("PATCH", rf"/channels/{thread['id']}")
            assert [str(t) for t in edit.json["applied_tags"]] == [discord.solved_tag_id]
            assert edit.json["archived"] is True
            assert discord.threads[thread["id"]]["thread_metadata"]["archived"]

            assert await verbatim.stop(signal.SIGTERM) == 0
            assert_quiet(verbatim.log())
            assert discord.unrouted == []
