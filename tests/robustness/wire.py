"""A fake Discord for load and fault tests: the e2e fake with a second server, request times,
and faults Discord really produces (429 rate limits, interactions that expired before their
acknowledgement). Everything stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp import web

from tests.e2e.fake_discord import FakeDiscord
from tests.e2e.fake_wire import MEMBER_PERMISSIONS, Request, json_response

MANAGE_GUILD = 1 << 5


class LoadDiscord(FakeDiscord):
    """FakeDiscord with a second server (and channel), timestamps, and injectable faults."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []  # when each of `requests` arrived (monotonic)
        self.second_guild_id = self.snowflake()
        self.second_channel_id = self.snowflake()
        # Faults: (method, path regex) -> how many more times to answer 429, and retry_after.
        self.rate_limits: dict[tuple[str, str], list[float]] = {}
        self.rate_limited: list[Request] = []
        self.expired: set[str] = set()  # interaction ids whose acknowledgement comes too late
        self.callback_delay = 0.0
        self.replies: dict[str, tuple[float, Request]] = {}  # by message id or token
        self.acks: dict[str, float] = {}  # interaction id -> when its callback came

    async def _record(self, item: Any) -> None:
        if isinstance(item, Request):
            now = time.monotonic()
            self.times.append(now)
            # Indexed as they come, so waiting on hundreds of replies costs the loop nothing.
            for key in _reply_keys(item):
                self.replies.setdefault(key, (now, item))
            if item.path.endswith("/callback"):
                self.acks.setdefault(item.path.split("/")[2], now)
        await super()._record(item)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        for (method, pattern), left in self.rate_limits.items():
            if left and left[0] > 0 and request.method == method and re.fullmatch(pattern, path):
                left[0] -= 1
                await request.read()
                self.rate_limited.append(Request(request.method, path, {}, None, {}))
                # Discord's 429: the body and headers say how long to wait (seconds).
                retry_after = left[1]
                return json_response(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": False,
                    },
                    status=429,
                    headers={
                        # discord.py takes a 429 without Discord's Via header for a Cloudflare ban.
                        "Via": "1.1 google",
                        "Retry-After": str(retry_after),
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": str(retry_after),
                        "X-RateLimit-Bucket": "fake-bucket",
                        "X-RateLimit-Scope": "user",
                    },
                )
        return await super()._rest(request)

    async def _callback(self, request: Request, interaction: str, token: str) -> web.Response:
        if self.callback_delay:
            await asyncio.sleep(self.callback_delay)
        if interaction in self.expired:
            # What Discord answers an acknowledgement that came after its 3 seconds.
            return self._error(404, 10062, "Unknown interaction")
        return await super()._callback(request, interaction, token)

    async def _create_message(self, request: Request, channel: str) -> web.Response:
        # The fake knows one channel; the second server's is answered the same way.
        if channel == self.second_channel_id:
            channel = self.channel_id
        return await super()._create_message(request, channel)

    # -- payloads ---------------------------------------------------------------------------

    def second_guild(self) -> dict[str, Any]:
        """GUILD_CREATE for a second server with its own channel (the bot is a member)."""
        guild = self.guild()
        channel = {
            **self.channel(),
            "id": self.second_channel_id,
            "guild_id": self.second_guild_id,
        }
        everyone = {**guild["roles"][0], "id": self.second_guild_id}
        return {
            **guild,
            "id": self.second_guild_id,
            "name": "Second server",
            "roles": [everyone],
            "channels": [channel],
            "system_channel_id": self.second_channel_id,
        }

    def in_second_guild(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Move a MESSAGE_CREATE or INTERACTION_CREATE payload to the second server."""
        payload.update(guild_id=self.second_guild_id, channel_id=self.second_channel_id)
        if "channel" in payload:
            payload["channel"] = {
                **payload["channel"],
                "id": self.second_channel_id,
                "guild_id": self.second_guild_id,
            }
            payload["authorizing_integration_owners"] = {"0": self.second_guild_id}
            # Commands are global there (synced to the first server only in development).
            payload["data"].pop("guild_id", None)
        return payload

    def subcommand(
        self, name: str, options: dict[str, str], *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for a subcommand such as "docs add" with string options."""
        group, sub = name.split()
        interaction = self.slash_command(group, {}, user=user)
        interaction["data"]["options"] = [
            {
                "name": sub,
                "type": 1,
                "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
            }
        ]
        return interaction

    def as_moderator(self, interaction: dict[str, Any]) -> dict[str, Any]:
        """Give the interaction's member Manage Server, as Discord resolves it."""
        interaction["member"]["permissions"] = str(MEMBER_PERMISSIONS | MANAGE_GUILD)
        return interaction

    def mention_message(self, question: str, author: dict[str, Any]) -> dict[str, Any]:
        return self.message(
            f"<@{self.bot_user['id']}> {question}", author=author, mentions=(self.bot_user,)
        )

    def reply_to(self, asked: dict[str, Any]) -> tuple[float, Request] | None:
        """The bot's reply to a message or an interaction, with when it arrived."""
        return self.replies.get(asked.get("token") or asked["id"])

    def acknowledged(self, asked: dict[str, Any]) -> float | None:
        """When the interaction's callback (deferral or reply) arrived."""
        return self.acks.get(asked["id"])


def _reply_keys(request: Request) -> list[str]:
    """What a request answers: a message it replies to, or an interaction's token."""
    if request.method != "POST" or not isinstance(request.json, dict):
        return []
    if request.path.endswith("/messages"):
        reference = request.json.get("message_reference") or {}
        return [str(reference["message_id"])] if reference.get("message_id") else []
    if request.path.startswith("/webhooks/"):
        return [request.path.rsplit("/", 1)[-1]]
    if request.path.endswith("/callback") and request.json.get("type") == 4:
        return [request.path.split("/")[3]]
    return []
