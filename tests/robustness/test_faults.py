"""Discord's faults through the real `verbatim run` over the wire: HTTP 429 rate limits, an
interaction acknowledged too late (and one acknowledged slowly), and a dropped gateway with
questions in flight. The bot keeps answering, each question once."""

from __future__ import annotations

import re
import signal
from collections import Counter

import pytest

from bot.store import open_store
from tests.conftest import SEED_QUESTION
from tests.e2e.fake_wire import RESUME
from tests.e2e.test_run import START_TIMEOUT, plain, verbatim_run
from tests.robustness.wire import LoadDiscord

SEED_WORDS = "Special Operations forces"
TIMEOUT = 15.0


async def ask_by_mention(discord: LoadDiscord, name: str, question: str = SEED_QUESTION) -> dict:
    asked = discord.mention_message(question, discord.user(name))
    await discord.dispatch("MESSAGE_CREATE", asked)
    return asked


async def ask_by_slash(discord: LoadDiscord, name: str, question: str = SEED_QUESTION) -> dict:
    interaction = discord.slash_command("ask", {"question": question}, user=discord.user(name))
    await discord.dispatch("INTERACTION_CREATE", interaction)
    return interaction


async def answer_of(discord: LoadDiscord, asked: dict) -> str:
    _, request = await discord.wait_for(lambda: discord.reply_to(asked), timeout=TIMEOUT)
    return plain((request.json.get("data") or request.json).get("content") or "")


@pytest.mark.slow
async def test_the_bot_keeps_answering_through_discords_faults(tmp_path):
    asked: list[dict] = []
    async with LoadDiscord() as discord, verbatim_run(tmp_path, discord) as verbatim:
        await discord.wait_for_request(
            "PUT",
            rf"/applications/{discord.application_id}/guilds/{discord.guild_id}/commands",
            timeout=START_TIMEOUT,
        )

        # HTTP 429 on sending a reply, twice: discord.py waits as told and sends it.
        messages = rf"/channels/{discord.channel_id}/messages"
        discord.rate_limits[("POST", messages)] = [2, 0.3]
        asked.append(await ask_by_mention(discord, "limited-1"))
        assert SEED_WORDS in await answer_of(discord, asked[-1])
        assert len(discord.rate_limited) == 2

        # 429 on an interaction follow-up (the webhook route) too.
        discord.rate_limits[("POST", r"/webhooks/\d+/[^/]+")] = [1, 0.3]
        asked.append(await ask_by_slash(discord, "limited-2"))
        assert SEED_WORDS in await answer_of(discord, asked[-1])
        assert len(discord.rate_limited) == 3

        # An interaction acknowledged after Discord's 3 seconds: Discord answers 404 "Unknown
        # interaction"; the member sees "interaction failed", the bot logs it and goes on.
        late = discord.slash_command("ask", {"question": SEED_QUESTION}, user=discord.user("late"))
        discord.expired.add(late["id"])
        await discord.dispatch("INTERACTION_CREATE", late)
        await discord.wait_for_request("POST", rf"/interactions/{late['id']}/[^/]+/callback")
        # And one whose acknowledgement is slow to arrive still gets its answer.
        discord.callback_delay = 1.5
        asked.append(await ask_by_slash(discord, "slow-ack"))
        assert SEED_WORDS in await answer_of(discord, asked[-1])
        discord.callback_delay = 0.0

        # The gateway drops with questions in flight; those asked meanwhile are replayed on
        # RESUME. Every one is answered exactly once.
        frames = len(discord.frames)
        for number in range(20):
            asked.append(await ask_by_mention(discord, f"before-drop-{number}"))
        await discord.drop()
        for number in range(20):
            asked.append(await ask_by_mention(discord, f"during-drop-{number}"))
            asked.append(await ask_by_slash(discord, f"during-drop-slash-{number}"))
        await discord.wait_for_frame(RESUME, after=frames, timeout=TIMEOUT)
        for question in asked:
            assert SEED_WORDS in await answer_of(discord, question)

        # Afterwards it answers as before.
        asked.append(await ask_by_slash(discord, "after"))
        assert SEED_WORDS in await answer_of(discord, asked[-1])
        assert await verbatim.stop(signal.SIGTERM) == 0
        log = verbatim.log()

    # One reply per question: no duplicate sends after the retries or the resume.
    replies = Counter(
        str((r.json.get("message_reference") or {}).get("message_id"))
        for r in discord.requests
        if r.method == "POST" and re.fullmatch(messages, r.path)
    )
    assert all(count == 1 for count in replies.values()), replies
    assert "Unknown interaction" in log  # the late one was logged, not hidden
    assert "database is locked" not in log
    async with open_store(tmp_path / "verbatim.db") as store:
        rows = await store.interactions(None, limit=1000)
    logged = Counter(row.user_id for row in rows)
    askers = {(q.get("author") or q["member"]["user"])["id"] for q in asked}
    assert set(logged) == askers and set(logged.values()) == {1}
    assert all(row.answered for row in rows)
