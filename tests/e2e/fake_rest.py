"""The fake Discord's REST routes (/api/v10): log-in, messages, threads, commands, interactions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.e2e.fake_wire import (
    CALLBACK_DEFERRED_MESSAGE,
    MESSAGE_FLAG_LOADING,
    MESSAGE_TYPE_DEFAULT,
    MESSAGE_TYPE_REPLY,
    MESSAGE_TYPES_BY_COMMAND_TYPE,
    Request,
    timestamp,
)


class Rest:
    """The routes discord.py calls, each checking the token as Discord does; all recorded."""

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body = await self._body(request)
        recorded = Request(request.method, path, dict(request.query), body, dict(request.headers))
        await self._record(recorded)
        bot_route = not path.startswith(("/interactions/", "/webhooks/"))
        if bot_route and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, 0, "401: Unauthorized")
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if method == request.method and match:
                return await handler(recorded, **match.groupdict())
        self.unrouted.append(recorded)
        return self._error(404, 0, "404: Not Found")

    def _routes(self) -> list[tuple[str, str, Callable[..., Any]]]:
        commands = r"/applications/(?P<application>\d+)(/guilds/(?P<guild>\d+))?/commands"
        return [
            ("GET", r"/users/@me", self._me),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("GET", r"/applications/@me", self._application),
            ("GET", r"/gateway", self._gateway_info),
            ("GET", r"/gateway/bot", self._gateway_info),
            ("POST", r"/channels/(?P<channel>\d+)/messages", self._create_message),
            ("PATCH", r"/channels/(?P<channel>\d+)", self._edit_thread),
            ("PUT", r"/channels/(?P<channel>\d+)/thread-members/@me", self._join_thread),
            ("GET", r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._get_message),
            (
                "PUT",
                r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/reactions/[^/]+/@me",
                self._no_content,
            ),
            ("PUT", commands, self._put_commands),
            ("GET", commands, self._get_commands),
            (
                "POST",
                r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback",
                self._callback,
            ),
            ("POST", r"/webhooks/(?P<application>\d+)/(?P<token>[^/]+)", self._follow_up),
        ]

    async def _me(self, request: Request) -> web.Response:
        return self._json({**self.bot_user, "verified": True, "mfa_enabled": False}, request)

    async def _application(self, request: Request) -> web.Response:
        return self._json(self.application(), request)

    async def _gateway_info(self, request: Request) -> web.Response:
        url = self.gateway_url.rstrip("/")
        if request.path.endswith("/bot"):
            limit = {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            }
            return self._json({"url": url, "shards": 1, "session_start_limit": limit}, request)
        return self._json({"url": url}, request)

    async def _no_content(self, request: Request, **_: str) -> web.Response:
        return web.Response(status=204, headers=self._rate_limit_headers(request))

    async def _create_message(self, request: Request, channel: str) -> web.Response:
        if channel != self.channel_id and channel not in self.threads:
            return self._error(404, 10003, "Unknown Channel")
        invalid = self._invalid_message(request.json)
        if invalid:
            return invalid
        reference = request.json.get("message_reference")
        message = self._sent_message(request.json)
        message["channel_id"] = channel
        if reference:
            message["type"] = MESSAGE_TYPE_REPLY
            # Ids come as strings or numbers (discord.py sends numbers); Discord answers strings.
            replied_to = str(reference["message_id"])
            message["message_reference"] = {
                "type": 0,
                "channel_id": str(reference.get("channel_id", channel)),
                "message_id": replied_to,
                "guild_id": self.guild_id,
            }
            message["referenced_message"] = self.messages.get(replied_to)
        self.messages[message["id"]] = message
        self.sent.append(message)
        return self._json(message, request)

    async def _join_thread(self, request: Request, channel: str) -> web.Response:
        if channel not in self.threads:
            return self._error(404, 10003, "Unknown Channel")
        self.threads[channel]["member_count"] += 1
        return await self._no_content(request)

    async def _get_message(self, request: Request, channel: str, message: str) -> web.Response:
        found = self.messages.get(message)
        if found is None or found["channel_id"] != channel:
            return self._error(404, 10008, "Unknown Message")
        return self._json(found, request)

    async def _edit_thread(self, request: Request, channel: str) -> web.Response:
        """Tags and archiving of a thread, as the bot's Manage Threads permission allows."""
        thread = self.threads.get(channel)
        if thread is None:
            return self._error(404, 10003, "Unknown Channel")
        body = request.json or {}
        if "applied_tags" in body:
            known = {tag["id"] for tag in self.forum()["available_tags"]}
            tags = [str(tag) for tag in body["applied_tags"]]
            if thread["parent_id"] != self.forum_id or not set(tags) <= known or len(tags) > 5:
                return self._error(400, 50035, "Invalid Form Body (applied_tags)")
            thread["applied_tags"] = tags
        for key in ("archived", "locked"):
            if key in body:
                thread["thread_metadata"][key] = bool(body[key])
        return self._json(thread, request)

    async def _put_commands(
        self, request: Request, application: str, guild: str | None
    ) -> web.Response:
        if application != self.application_id:
            return self._error(404, 10002, "Unknown Application")
        registered = []
        for command in request.json:
            registered.append(
                {
                    "id": self.snowflake(),
                    "application_id": self.application_id,
                    "version": self.snowflake(),
                    "type": 1,
                    "description": "",
                    "default_member_permissions": None,
                    "nsfw": False,
                    **({"guild_id": guild} if guild else {}),
                    **command,
                }
            )
        self.commands[guild or "global"] = registered
        return self._json(registered, request)

    async def _get_commands(
        self, request: Request, application: str, guild: str | None
    ) -> web.Response:
        return self._json(self.commands.get(guild or "global", []), request)

    async def _callback(self, request: Request, interaction: str, token: str) -> web.Response:
        if token not in self.interactions or self.interactions[token]["id"] != interaction:
            return self._error(404, 10062, "Unknown interaction")
        callback_type = request.json.get("type")
        kind = self.interactions[token]["type"]
        response: dict[str, Any] = {"interaction": {"id": interaction, "type": kind}}
        if callback_type in (4, CALLBACK_DEFERRED_MESSAGE):
            data = request.json.get("data") or {}
            if callback_type == CALLBACK_DEFERRED_MESSAGE:
                data = {
                    **data,
                    "content": "",
                    "flags": (data.get("flags") or 0) | MESSAGE_FLAG_LOADING,
                }
            message = self._sent_message(data, interaction=self.interactions[token])
            self.messages[message["id"]] = message
            self.sent.append(message)
            response["interaction"].update(
                response_message_id=message["id"],
                response_message_loading=callback_type == CALLBACK_DEFERRED_MESSAGE,
                response_message_ephemeral=bool(message["flags"] & (1 << 6)),
            )
            response["resource"] = {"type": callback_type, "message": message}
        elif callback_type is not None:
            response["resource"] = {"type": callback_type}
        return self._json(response, request)

    async def _follow_up(self, request: Request, application: str, token: str) -> web.Response:
        if application != self.application_id or token not in self.interactions:
            return self._error(404, 10015, "Unknown Webhook")
        invalid = self._invalid_message(request.json)
        if invalid:
            return invalid
        message = self._sent_message(request.json, interaction=self.interactions[token])
        self.messages[message["id"]] = message
        self.sent.append(message)
        if request.query.get("wait") in ("true", "1"):
            return self._json(message, request)
        return await self._no_content(request)

    def _sent_message(
        self, data: dict[str, Any], *, interaction: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The message object Discord returns for what the bot sent (as the bot user)."""
        message = {
            "id": self.snowflake(),
            "type": MESSAGE_TYPE_DEFAULT,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "author": self.bot_user,
            "content": data.get("content") or "",
            "timestamp": timestamp(),
            "edited_timestamp": None,
            "tts": bool(data.get("tts")),
            # allowed_mentions decides who is pinged; the fake's bot only ever asks for nobody.
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "pinned": False,
            "flags": data.get("flags") or 0,
            "nonce": data.get("nonce"),
        }
        if interaction is not None:
            message["channel_id"] = interaction["channel_id"]
            command_type = interaction["data"].get("type")
            message["type"] = MESSAGE_TYPES_BY_COMMAND_TYPE.get(command_type, MESSAGE_TYPE_DEFAULT)
            message["webhook_id"] = self.application_id
            message["application_id"] = self.application_id
            message["interaction_metadata"] = {
                "id": interaction["id"],
                "type": interaction["type"],
                "user": interaction["member"]["user"],
                "authorizing_integration_owners": interaction["authorizing_integration_owners"],
            }
        return message

    def _invalid_message(self, data: Any) -> web.Response | None:
        """Discord's 400 for a message it would refuse (empty, or over its length limit)."""
        if not isinstance(data, dict):
            return self._error(400, 50109, "The request body contains invalid JSON.")
        content = data.get("content") or ""
        if len(content) > 2000:
            return self._error(
                400, 50035, "Invalid Form Body (content: Must be 2000 or fewer in length.)"
            )
        if not content and not data.get("embeds") and not data.get("components"):
            return self._error(400, 50006, "Cannot send an empty message")
        return None
