"""`verbatim run` end to end: the real process and discord.py's client, over the wire, offline.

The bot is started as a user starts it, pointed by DISCORD_API_BASE and DISCORD_GATEWAY_URL at
the fake Discord of tests/e2e/fake_discord.py on 127.0.0.1. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.store import open_store
from tests.conftest import COMMAND_NAMES, SEED_ANSWER, SEED_QUESTION
from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.fake_wire import HEARTBEAT, IDENTIFY, RESUME, Request

VERBATIM = Path(sys.executable).with_name("verbatim")
SEED_CITATION = "*United States plans coalition meeting on battle against ISIS* — sentence 17"
SECOND_QUESTION = "how many jihadists have been killed by the coalition?"
SECOND_ANSWER = "Around 22,000 jihadists have been killed by the US-led coalition"
MESSAGE_CONTENT_INTENT = 1 << 15
SUPPRESS_EMBEDS = 1 << 2
START_TIMEOUT = 15.0  # importing discord.py and loading the seeds, on a slow CI machine
REPLY_TIMEOUT = 5.0
EXIT_TIMEOUT = 5.0


class Verbatim:
    """The running `verbatim run` process and the file its output goes to."""

    def __init__(
        self, process: asyncio.subprocess.Process, output: Path, discord: FakeDiscord
    ) -> None:
        self.process = process
        self.output = output
        self.discord = discord
        # A bot that dies fails the test at once instead of at the next wait's timeout.
        self.exited = asyncio.ensure_future(process.wait())
        discord.give_up_when(self.exited, "verbatim run exited early")

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    async def stop(self, signal_number: int) -> int:
        """Send the signal; the exit code, which must come within EXIT_TIMEOUT."""
        self.discord.give_up_when(None)
        self.process.send_signal(signal_number)
        async with asyncio.timeout(EXIT_TIMEOUT):
            return await asyncio.shield(self.exited)


@asynccontextmanager
async def verbatim_run(
    tmp_path: Path, discord: FakeDiscord, discord_config: str = ""
) -> AsyncIterator[Verbatim]:
    """Start `verbatim run --config ...` against the fake; kill it if the test did not stop it.

    `discord_config`: more lines for the config file's [discord] table.
    """
    config = tmp_path / "verbatim.toml"
    # Commands sync to a development server at start: that is the PUT the fake answers.
    config.write_text(f"[discord]\ndev_guilds = [{discord.guild_id}]\n{discord_config}")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "VERBATIM_"))
    }
    environment.update(
        DISCORD_TOKEN=discord.token,
        DISCORD_API_BASE=discord.api_base,
        DISCORD_GATEWAY_URL=discord.gateway_url,
        VERBATIM_DB=str(tmp_path / "verbatim.db"),
        VERBATIM_DEBUG="1",  # an unexpected error shows its traceback in the failure note
    )
    output = tmp_path / "verbatim.log"
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            str(VERBATIM),
            "run",
            "--config",
            str(config),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            cwd=tmp_path,
            env=environment,
        )
    running = Verbatim(process, output, discord)
    try:
        yield running
    except BaseException as failure:
        failure.add_note(f"verbatim run said:\n{running.log()}")
        raise
    finally:
        if process.returncode is None:
            process.kill()
        await running.exited


def assert_quiet(log: str) -> None:
    """Nothing went wrong that was only logged (a failed handler, a payload discord.py disliked)."""
    assert "Traceback" not in log
    assert not re.search(r" (WARNING|ERROR|CRITICAL) ", log), log


def plain(content: str) -> str:
    """Reply text without its markdown: bold markers and backslash escapes removed."""
    return re.sub(r"\\(.)", r"\1", content.replace("**", ""))


def assert_pings_nobody(payload: dict) -> None:
    allowed = payload["allowed_mentions"]
    assert allowed["parse"] == [], allowed
    assert not allowed.get("users") and not allowed.get("roles"), allowed
    assert not allowed.get("replied_user"), allowed


def feedback_buttons(payload: dict) -> list[tuple[str, str]]:
    """(emoji, custom id) of the buttons under a message."""
    return [
        (button["emoji"]["name"], button["custom_id"])
        for row in payload["components"]
        for button in row["components"]
    ]


def assert_seed_reply(request: Request, asked: dict) -> None:
    """The reply quotes the seed sentence with its citation, pings nobody, has 👍/👎."""
    payload = request.json
    assert SEED_ANSWER in plain(payload["content"])
    assert "**Special Operations forces**" in payload["content"]
    assert SEED_CITATION in payload["content"]
    assert str(payload["message_reference"]["message_id"]) == asked["id"]
    assert payload["flags"] & SUPPRESS_EMBEDS
    assert_pings_nobody(payload)
    assert [emoji for emoji, _ in feedback_buttons(payload)] == ["👍", "👎"]


async def mention(discord: FakeDiscord, question: str) -> dict:
    """Push a message mentioning the bot; returns the MESSAGE_CREATE payload."""
    asked = discord.message(f"<@{discord.bot_user['id']}> {question}", mentions=(discord.bot_user,))
    await discord.dispatch("MESSAGE_CREATE", asked)
    return asked


async def test_verbatim_run_answers_resumes_and_stops_cleanly(tmp_path):
    async with FakeDiscord() as discord, verbatim_run(tmp_path, discord) as verbatim:
        # Start-up: log in over REST, sync to the development server, identify on the gateway.
        identify = await discord.wait_for_frame(IDENTIFY, timeout=START_TIMEOUT)
        assert identify.data["token"] == discord.token
        assert not identify.data["intents"] & MESSAGE_CONTENT_INTENT  # no privileged intent
        assert discord.opens[0].path == "/"
        assert discord.opens[0].query == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
        await discord.wait_for_frame(HEARTBEAT, timeout=REPLY_TIMEOUT)
        synced = await discord.wait_for_request(
            "PUT", rf"/applications/{discord.application_id}/guilds/{discord.guild_id}/commands"
        )
        assert sorted(c["name"] for c in synced.json) == COMMAND_NAMES
        # Moderators' message command: hidden from members by default, in servers only.
        add_menu = next(c for c in synced.json if c["name"] == "Add to Verbatim")
        assert add_menu["type"] == 3 and add_menu["contexts"] == [0]
        assert int(add_menu["default_member_permissions"]) == 1 << 5  # Manage Server
        assert not any(
            r.path == f"/applications/{discord.application_id}/commands" for r in discord.requests
        )

        # A mention is answered in the channel, quoting and citing the seed sentence.
        messages = rf"/channels/{discord.channel_id}/messages"
        asked = await mention(discord, SEED_QUESTION)
        reply = await discord.wait_for_request("POST", messages, timeout=REPLY_TIMEOUT)
        assert_seed_reply(reply, asked)

        # A member clicks 👍 under that answer.
        answer = discord.sent[-1]
        assert answer["content"] == reply.json["content"]
        thumbs_up = feedback_buttons(reply.json)[0][1]
        click = discord.button_click(answer, thumbs_up)
        await discord.dispatch("INTERACTION_CREATE", click)
        clicked = await discord.wait_for_request(
            "POST", rf"/interactions/{click['id']}/[^/]+/callback", timeout=REPLY_TIMEOUT
        )
        assert clicked.json["type"] == 4 and clicked.json["data"]["flags"] & (1 << 6)  # ephemeral
        assert "recorded 👍" in clicked.json["data"]["content"]

        # The connection drops; a question asked meanwhile reaches the bot when it resumes.
        session = discord.session
        seen = session.seq  # every event so far reached the bot
        frames, requests = len(discord.frames), len(discord.requests)
        await discord.drop()
        asked_again = await mention(discord, SECOND_QUESTION)
        resume = await discord.wait_for_frame(RESUME, after=frames, timeout=REPLY_TIMEOUT)
        assert resume.path == "/resume"  # the resume_gateway_url READY gave
        assert resume.data["session_id"] == session.id
        assert resume.data["seq"] == seen
        second = await discord.wait_for_request(
            "POST", messages, after=requests, timeout=REPLY_TIMEOUT
        )
        assert SECOND_ANSWER in plain(second.json["content"])
        assert str(second.json["message_reference"]["message_id"]) == asked_again["id"]
        assert_pings_nobody(second.json)
        assert not any(f.op == IDENTIFY for f in discord.frames[frames:])
        assert [e["t"] for e in session.events[-1:]] == ["RESUMED"]

        # /ask: acknowledged at once ("thinking"), answered in a follow-up through the webhook.
        requests = len(discord.requests)
        interaction = discord.slash_command("ask", {"question": SEED_QUESTION})
        await discord.dispatch("INTERACTION_CREATE", interaction)
        deferred = await discord.wait_for_request(
            "POST", rf"/interactions/{interaction['id']}/[^/]+/callback", after=requests
        )
        assert deferred.json["type"] == 5
        follow_up = await discord.wait_for_request(
            "POST",
            rf"/webhooks/{discord.application_id}/[^/]+",
            after=requests,
            timeout=REPLY_TIMEOUT,
        )
        assert follow_up.path.endswith(interaction["token"])
        assert SEED_ANSWER in plain(follow_up.json["content"])
        assert SEED_CITATION in follow_up.json["content"]
        assert_pings_nobody(follow_up.json)
        assert [emoji for emoji, _ in feedback_buttons(follow_up.json)] == ["👍", "👎"]

        # SIGTERM, as a service manager stops it: the bot leaves the gateway with 1000 (Discord
        # ends the session rather than keeping a dead bot online) and exits 0.
        returncode = await verbatim.stop(signal.SIGTERM)
        assert returncode == 0, verbatim.log()
        closed = await discord.wait_for(
            lambda: [c for c in discord.closes if c.connection == discord.opens[-1].connection],
            timeout=EXIT_TIMEOUT,
        )
        assert closed[0].code == 1000
        assert_quiet(verbatim.log())
        assert discord.unrouted == []

    # Everything asked was logged once, answered, and the 👍 recorded, in the server's scope.
    async with open_store(tmp_path / "verbatim.db") as store:
        logged = await store.interactions(int(discord.guild_id))
    assert sorted((row.via, row.question, row.answered) for row in logged) == sorted(
        [
            ("mention", SEED_QUESTION, True),
            ("mention", SECOND_QUESTION, True),
            ("slash", SEED_QUESTION, True),
        ]
    )
    voted = int(thumbs_up.split(":")[2])  # verbatim:fb:<log row>:up
    assert [(row.id, row.thumbs_up, row.thumbs_down) for row in logged if row.thumbs_up] == [
        (voted, 1, 0)
    ]


@pytest.mark.parametrize(
    "signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"]
)
async def test_a_stop_signal_during_the_handshake_stops_verbatim_run_cleanly(
    tmp_path, signal_number
):
    # Right at IDENTIFY the bot is finishing its gateway handshake, where a cancellation can be
    # lost (Python 3.11's asyncio.wait_for); the stop must still come, and come cleanly.
    async with FakeDiscord() as discord, verbatim_run(tmp_path, discord) as verbatim:
        await discord.wait_for_frame(IDENTIFY, timeout=START_TIMEOUT)
        returncode = await verbatim.stop(signal_number)
        assert returncode == 0
        assert_quiet(verbatim.log())
        closed = await discord.wait_for(lambda: discord.closes, timeout=EXIT_TIMEOUT)
        assert [c.code for c in closed] == [1000]
