"""Load through the real `verbatim run` over the wire: hundreds of members ask at once in two
servers while moderators add and remove documents. Every question gets one reply and one log
row, nothing is locked, and no answer cites another server's document.

The bot is the real process and discord.py's real client, talking to the fake Discord of
tests/robustness/wire.py on 127.0.0.1. Throughput and reply times are measured and printed
(not asserted: speed targets belong to benchmarks).
"""

from __future__ import annotations

import asyncio
import re
import signal
import statistics
import time
from collections import Counter

import pytest

from bot.discord.app import GENERIC_ERROR
from bot.store import GLOBAL_SCOPE, open_store
from tests.conftest import SEED_QUESTION
from tests.e2e.test_run import START_TIMEOUT, verbatim_run
from tests.robustness.wire import LoadDiscord

QUESTIONS = 300  # at once
PACED = 300  # then a steady stream of these
RATE = 100  # questions a second
ZEBRAS = "Zebras in the park are fed at nine in the morning by the keeper named Olga.\n"
YAKS = "Yaks on the farm are milked at six in the evening by the farmer named Piet.\n"
TOPICS = ["when are zebras fed?", "when are yaks milked?", SEED_QUESTION, "who is Olga?"]
DOCUMENT_ID = re.compile(r"\(document (\d+)\)")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def moderate(discord: LoadDiscord, second: bool, name: str, options: dict) -> dict:
    interaction = discord.as_moderator(discord.subcommand(name, options, user=discord.owner))
    if second:
        discord.in_second_guild(interaction)
    await discord.dispatch("INTERACTION_CREATE", interaction)
    return interaction


async def replied(discord: LoadDiscord, asked: dict, timeout: float = 30.0) -> str:
    found = await discord.wait_for(lambda: discord.reply_to(asked), timeout=timeout)
    payload = found[1].json
    return (payload.get("data") or payload).get("content") or ""


@pytest.mark.slow
async def test_hundreds_of_concurrent_questions_while_moderators_curate(tmp_path):
    async with LoadDiscord() as discord, verbatim_run(tmp_path, discord) as verbatim:
        await discord.wait_for_request(
            "PUT",
            rf"/applications/{discord.application_id}/guilds/{discord.guild_id}/commands",
            timeout=START_TIMEOUT,
        )
        await discord.dispatch("GUILD_CREATE", discord.second_guild())
        scopes = {False: int(discord.guild_id), True: int(discord.second_guild_id)}
        owner_of: dict[int, int] = {}  # document id -> scope
        zebra_id = 0
        for second, text, title in [
            (False, ZEBRAS, "Zebra care"),
            (True, YAKS, "Yak care"),
            (True, "Temporary notes about yaks and zebras are kept here for now.\n", "Temp"),
        ]:
            added = await moderate(discord, second, "docs add", {"text": text, "title": title})
            document_id = int(DOCUMENT_ID.search(await replied(discord, added)).group(1))
            owner_of[document_id] = scopes[second]
            zebra_id = zebra_id if second or title != "Zebra care" else document_id
        temporary = document_id

        # The load: every question from a different member (the per-user cooldown stays out of
        # the way), mentions and /ask, both servers, all topics; moderators act in between.
        def question(number: int) -> tuple[str, dict]:
            user = discord.user(f"asker{number}")
            second = number % 3 == 2
            question = TOPICS[number % len(TOPICS)]
            if number % 2:
                payload = discord.mention_message(question, user)
                event = "MESSAGE_CREATE"
            else:
                payload = discord.slash_command("ask", {"question": question}, user=user)
                event = "INTERACTION_CREATE"
            if second:
                discord.in_second_guild(payload)
            return event, payload

        plan = [question(number) for number in range(QUESTIONS)]
        curating = {
            QUESTIONS // 4: (False, "docs add", {"text": "Giraffes are measured on Mondays.\n"}),
            QUESTIONS // 2: (True, "docs remove", {"document": str(temporary)}),
            3 * QUESTIONS // 4: (True, "docs add", {"text": "Yak wool is sold on Fridays.\n"}),
        }
        sent_at: dict[str, float] = {}
        moderator_actions = []
        started = time.monotonic()
        for number, (event, payload) in enumerate(plan):
            if number in curating:
                second, name, options = curating[number]
                moderator_actions.append((second, await moderate(discord, second, name, options)))
            await discord.dispatch(event, payload)
            sent_at[payload["id"]] = time.monotonic()
        dispatched = time.monotonic() - started

        await discord.wait_for(
            lambda: all(discord.reply_to(payload) for _, payload in plan), timeout=120.0
        )
        finished = max(discord.reply_to(payload)[0] for _, payload in plan)

        # Then a steady stream, as a busy community asks: PACED questions at RATE a second.
        paced = [question(number) for number in range(QUESTIONS, QUESTIONS + PACED)]
        steady = time.monotonic()
        for number, (event, payload) in enumerate(paced):
            await asyncio.sleep(max(0.0, steady + number / RATE - time.monotonic()))
            await discord.dispatch(event, payload)
            sent_at[payload["id"]] = time.monotonic()
        await discord.wait_for(
            lambda: all(discord.reply_to(payload) for _, payload in paced), timeout=60.0
        )
        steady_elapsed = max(discord.reply_to(payload)[0] for _, payload in paced) - steady
        for second, action in moderator_actions:
            text = await replied(discord, action)
            match = DOCUMENT_ID.search(text)
            if match and "Added" in text:
                owner_of[int(match.group(1))] = scopes[second]
        assert await verbatim.stop(signal.SIGTERM) == 0
        log = verbatim.log()

    burst_ids = {payload["id"] for _, payload in plan}
    plan += paced
    replies = {payload["id"]: discord.reply_to(payload) for _, payload in plan}
    latencies = [replies[key][0] - sent_at[key] for key in burst_ids]
    steady_latencies = [replies[key][0] - sent_at[key] for key in replies if key not in burst_ids]
    acks = [
        discord.acknowledged(payload) - sent_at[payload["id"]]
        for event, payload in plan
        if event == "INTERACTION_CREATE" and payload["id"] in burst_ids
    ]
    elapsed = finished - started
    print(
        f"\nload: {QUESTIONS} questions (dispatched in {dispatched:.2f}s) answered in "
        f"{elapsed:.2f}s = {QUESTIONS / elapsed:.1f} questions/s; reply time p50 "
        f"{statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
        "/ask acknowledged p99 "
        f"{percentile(acks, 0.99) * 1000:.0f} ms, max {max(acks) * 1000:.0f} ms\n"
        f"load: then {PACED} questions paced at {RATE} a second, all answered in "
        f"{steady_elapsed:.2f}s ({PACED / steady_elapsed:.1f} questions/s held); reply time p50 "
        f"{statistics.median(steady_latencies) * 1000:.0f} ms, "
        f"p99 {percentile(steady_latencies, 0.99) * 1000:.0f} ms, "
        f"max {max(steady_latencies) * 1000:.0f} ms"
    )

    # Every question got a real answer (not the generic error), nothing was locked.
    contents = [
        (reply[1].json.get("data") or reply[1].json).get("content", "")
        for reply in replies.values()
    ]
    assert not any(GENERIC_ERROR in content for content in contents)
    assert "database is locked" not in log and "Traceback" not in log, log
    assert not discord.unrouted

    # Every question is logged exactly once, in its own server's scope, citing only that
    # server's documents or the global ones.
    async with open_store(tmp_path / "verbatim.db") as store:
        rows = await store.interactions(None, limit=10_000)
        for scope in set(owner_of.values()) | {GLOBAL_SCOPE}:
            for document in await store.list_documents(scope):
                owner_of[document.id] = scope
    askers = Counter(row.user_id for row in rows if row.via in ("mention", "slash"))
    asked_by = {
        (payload.get("author") or payload["member"]["user"])["id"]: payload.get("guild_id")
        for _, payload in plan
    }
    assert set(askers) == set(asked_by) and set(askers.values()) == {1}
    for row in rows:
        if row.user_id not in asked_by:
            continue
        assert row.scope == int(asked_by[row.user_id])
        for answer in row.answers:
            assert owner_of[answer.document_id] in (row.scope, GLOBAL_SCOPE), (row, answer)
    # The first server's zebra questions are answered from its own zebra document.
    zebras_here = [
        row for row in rows if row.question == "when are zebras fed?" and row.scope == scopes[False]
    ]
    assert zebras_here and all(row.answers[0].document_id == zebra_id for row in zebras_here)
