"""A small fake Discord on 127.0.0.1: the REST routes and the v10 JSON gateway discord.py uses.

It runs in the test's event loop (aiohttp), on a free port, and plays one application with one
bot user in one server with one text channel, one forum channel (type 15, with a "Solved" tag)
and a mentionable support role. What it speaks, and how it follows Discord:

- REST under `/api/v10`: log-in (`GET /users/@me`, `GET /oauth2/applications/@me`), the gateway
  (`GET /gateway`, `GET /gateway/bot`), messages (`POST /channels/{id}/messages`, JSON or
  multipart with `payload_json`), reactions, application commands (`PUT`/`GET`, global and per
  server), interaction callbacks (`?with_response=1`) and webhook follow-ups. Bot routes check
  `Authorization: Bot <token>`; interaction routes check the interaction token, as Discord does.
  Threads too: editing one (tags, archiving), joining it, reading one of its messages. Every
  request is recorded; unknown routes answer Discord's 404 and are recorded too.
- The gateway at `/` (and the session's `resume_gateway_url` at `/resume`): v10, JSON, with or
  without `compress=zlib-stream` (one zlib context per connection, every message ending in
  Z_SYNC_FLUSH, as discord.py expects). HELLO, heartbeats ACKed, IDENTIFY -> READY and
  GUILD_CREATE, RESUME -> the missed events replayed, then RESUMED; an unknown session gets
  INVALID_SESSION. Events the test pushes while the bot is disconnected wait for the resume.

The test drives it: `dispatch` pushes an event, `drop` cuts the connection, `wait_for_request`
and `wait_for_frame` wait (bounded) for what the bot does, `message` and `slash_command` build
realistic MESSAGE_CREATE and INTERACTION_CREATE payloads, `forum_post` and `thread` the
THREAD_CREATE of a forum post (whose first message has the thread's id) or of a thread (type 11).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
HEARTBEAT_INTERVAL_MS = 41_250

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 9, 10, 11
# Gateway close codes the fake sends.
UNKNOWN_ERROR, AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED = 4000, 4004, 4005

# Permission bits a member of a friendly server has in its channels.
MEMBER_PERMISSIONS = sum(
    1 << bit
    for bit in (
        6,  # add reactions
        10,  # view channel
        11,  # send messages
        14,  # embed links
        15,  # attach files
        16,  # read message history
        31,  # use application commands
        35,  # create public threads
        38,  # send messages in threads
    )
)
MESSAGE_FLAG_LOADING = 1 << 7
MESSAGE_TYPE_DEFAULT, MESSAGE_TYPE_REPLY = 0, 19
# The type of a message answering an application command, by the command's type.
MESSAGE_TYPES_BY_COMMAND_TYPE = {1: 20, 3: 23}  # chat input, message context menu
CALLBACK_DEFERRED_MESSAGE = 5


class Snowflakes:
    """Discord ids: milliseconds since Discord's epoch, shifted, plus an increment."""

    def __init__(self) -> None:
        self._increment = itertools.count()

    def __call__(self) -> str:
        milliseconds = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((milliseconds << 22) | (next(self._increment) & 0xFFF))


def timestamp() -> str:
    """Now, as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Request:
    """One REST call the bot made: `path` is relative to `/api/v10`, `json` the JSON body."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Frame:
    """One gateway message the bot sent, on the numbered connection at `path`."""

    connection: int
    path: str
    op: int
    data: Any


@dataclass(frozen=True)
class Opened:
    """The bot opened gateway connection number `connection` at `path` with `query`."""

    connection: int
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class Closed:
    """A gateway connection ended; `code` is the close code the bot sent (None: no frame)."""

    connection: int
    code: int | None


@dataclass
class Connection:
    """One websocket to the bot, and its zlib stream when the bot asked for one."""

    number: int
    socket: web.WebSocketResponse
    compressor: Any = None  # a zlib compression object, or None for plain text frames

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        if self.compressor is None:
            await self.socket.send_str(text)
            return
        data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.socket.send_bytes(data)


@dataclass
class Session:
    """A gateway session: every event dispatched in it (for replay on RESUME) and its link."""

    id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def seq(self) -> int:
        return len(self.events)

    async def dispatch(self, *events: tuple[str, Any]) -> int:
        """Number the events, keep them for replay, and send them now if the bot is connected.

        Events given together go out together: nothing the test pushes comes between them.
        """
        async with self.lock:
            for event, data in events:
                await self._dispatch(event, data)
            return self.seq

    async def resume(self, connection: Connection, seq: int) -> None:
        """Replay what the bot missed after `seq` on its new connection, then RESUMED."""
        async with self.lock:
            for missed in self.events[seq:]:
                await connection.send(missed)
            self.connection = connection
            # Discord's RESUMED carries an object (discord.py writes into it), not null.
            await self._dispatch("RESUMED", {"_trace": ['["fake-discord",{}]']})

    async def _dispatch(self, event: str, data: Any) -> None:
        payload = {"op": DISPATCH, "t": event, "s": self.seq + 1, "d": data}
        self.events.append(payload)
        if self.connection is not None and not self.connection.socket.closed:
            await self.connection.send(payload)


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON as Discord sends it: discord.py only parses a body typed exactly application/json
    (aiohttp's own json_response adds "; charset=utf-8", which discord.py takes for text)."""
    body = json.dumps(data, ensure_ascii=False).encode()
    return web.Response(
        body=body, status=status, headers={**(headers or {}), "Content-Type": "application/json"}
    )


class FakeDiscord:
    """The fake server; use as `async with FakeDiscord() as discord: ...`."""

    def __init__(self, token: str = "fake-bot-token") -> None:
        self.token = token
        self.snowflake = Snowflakes()
        self.application_id = self.snowflake()
        self.bot_user = self.user("verbatim", bot=True)
        self.owner = self.user("owner")
        self.member_user = self.user("asker")
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.forum_id = self.snowflake()
        self.solved_tag_id = self.snowflake()
        self.bug_tag_id = self.snowflake()
        self.support_role_id = self.snowflake()
        self.threads: dict[str, dict[str, Any]] = {}  # every thread, by id
        self.requests: list[Request] = []
        self.frames: list[Frame] = []
        self.opens: list[Opened] = []
        self.closes: list[Closed] = []
        self.sessions: dict[str, Session] = {}
        self.session: Session | None = None
        self.messages: dict[str, dict[str, Any]] = {}  # every message, by id
        self.sent: list[dict[str, Any]] = []  # the messages the bot created, in order
        self.unrouted: list[Request] = []  # requests for routes the fake does not know
        self.commands: dict[str, list[dict[str, Any]]] = {}  # by "global" or server id
        self.interactions: dict[str, dict[str, Any]] = {}  # INTERACTION_CREATE data by token
        self._connections = itertools.count(1)
        self._live: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Condition()
        self._give_up: tuple[asyncio.Future[Any], str] | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- running ------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/", self._gateway)
        app.router.add_get("/resume", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for socket in list(self._live):
            await socket.close(code=1001, message=b"fake Discord is shutting down")
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    # -- what the test does -------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Push an event to the bot's session (sent now, or replayed when it resumes).

        Before the bot has identified, this waits for its session (bounded).
        """
        session = self.session or await self.wait_for(lambda: self.session, timeout=10.0)
        if event == "MESSAGE_CREATE":
            self.messages[data["id"]] = data
        return await session.dispatch((event, data))

    async def drop(self, code: int = UNKNOWN_ERROR) -> None:
        """Close the bot's gateway connection as Discord does when something goes wrong."""
        session = self.session
        if session is None or session.connection is None:
            raise RuntimeError("the bot is not connected")
        async with session.lock:
            connection, session.connection = session.connection, None
        await connection.socket.close(code=code, message=b"connection dropped by the test")

    def give_up_when(self, future: asyncio.Future[Any] | None, reason: str = "") -> None:
        """Make waits fail at once, with `reason`, when `future` is done (the bot exited)."""
        self._give_up = (future, reason) if future is not None else None
        if future is not None:
            future.add_done_callback(lambda _: asyncio.ensure_future(self._notify()))

    async def wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        """Wait until `predicate()` returns something truthy, and return it."""

        def satisfied() -> Any:
            found = predicate()
            if not found and self._give_up is not None and self._give_up[0].done():
                raise AssertionError(self._give_up[1])
            return found

        async with asyncio.timeout(timeout), self._changed:
            return await self._changed.wait_for(satisfied)

    async def wait_for_request(
        self, method: str, path: str, *, after: int = 0, timeout: float = 10.0
    ) -> Request:
        """The first request (from index `after`) whose path matches the regex `path` fully."""
        pattern = re.compile(path)

        def found() -> Request | None:
            return next(
                (
                    r
                    for r in self.requests[after:]
                    if r.method == method and pattern.fullmatch(r.path)
                ),
                None,
            )

        return await self.wait_for(found, timeout)

    async def wait_for_frame(self, op: int, *, after: int = 0, timeout: float = 10.0) -> Frame:
        """The first gateway message with opcode `op` the bot sent (from index `after`)."""

        def found() -> Frame | None:
            return next((f for f in self.frames[after:] if f.op == op), None)

        return await self.wait_for(found, timeout)

    # -- payloads ---------------------------------------------------------------------------

    def user(self, username: str, *, bot: bool = False) -> dict[str, Any]:
        """A user object."""
        return {
            "id": self.snowflake(),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }

    def member(self, user: dict[str, Any], *, with_user: bool = True) -> dict[str, Any]:
        """A server member object for `user` (with only the @everyone role)."""
        member: dict[str, Any] = {
            "roles": [],
            "nick": None,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = user
        return member

    def channel(self) -> dict[str, Any]:
        """The server's text channel."""
        return {
            "id": self.channel_id,
            "type": 0,
            "guild_id": self.guild_id,
            "name": "questions",
            "position": 0,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }

    def forum(self) -> dict[str, Any]:
        """The server's forum channel (type 15), with a "Solved" tag among its tags."""
        tag = {"moderated": False, "emoji_id": None, "emoji_name": None}
        return {
            **self.channel(),
            "id": self.forum_id,
            "type": 15,
            "name": "help",
            "available_tags": [
                {**tag, "id": self.solved_tag_id, "name": "Solved"},
                {**tag, "id": self.bug_tag_id, "name": "Bug"},
            ],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_thread_rate_limit_per_user": 0,
        }

    def thread_payload(
        self, name: str, *, parent: str, owner: dict[str, Any], kind: int = 11
    ) -> dict[str, Any]:
        """A thread channel object (type 11, public), as THREAD_CREATE carries it."""
        now = timestamp()
        thread = {
            "id": self.snowflake(),
            "type": kind,
            "guild_id": self.guild_id,
            "parent_id": parent,
            "owner_id": owner["id"],
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [],
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
            "newly_created": True,
        }
        self.threads[thread["id"]] = thread
        return thread

    def thread(self, name: str, *, owner: dict[str, Any] | None = None) -> dict[str, Any]:
        """THREAD_CREATE data of a public thread a member starts in the text channel."""
        return self.thread_payload(name, parent=self.channel_id, owner=owner or self.member_user)

    def forum_post(
        self, title: str, content: str, *, author: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A member's new forum post: THREAD_CREATE data of its thread, then the MESSAGE_CREATE
        data of its first message, whose id is the thread's id (as Discord sends them)."""
        author = author or self.member_user
        thread = self.thread_payload(title, parent=self.forum_id, owner=author)
        starter = self.message(content, author=author, channel_id=thread["id"])
        starter["id"] = thread["id"]
        return thread, starter

    def guild(self) -> dict[str, Any]:
        """The GUILD_CREATE payload of the one server (the bot's member is in it)."""
        everyone = {
            "id": self.guild_id,
            "name": "@everyone",
            "permissions": str(MEMBER_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        members = [self.member(u) for u in (self.owner, self.member_user, self.bot_user)]
        return {
            "id": self.guild_id,
            "name": "Verbatim test server",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": self.channel_id,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500_000,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [everyone, self.support_role()],
            "member_count": len(members),
            "large": False,
            "unavailable": False,
            "joined_at": timestamp(),
            "members": members,
            "channels": [self.channel(), self.forum()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_progress_bar_enabled": False,
        }

    def support_role(self) -> dict[str, Any]:
        """A mentionable role of people who help (the hand-off's role)."""
        return {
            "id": self.support_role_id,
            "name": "Support",
            "permissions": "0",
            "position": 1,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": True,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }

    def message(
        self,
        content: str,
        *,
        author: dict[str, Any] | None = None,
        mentions: tuple = (),
        channel_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload: `author` (the member by default) writes in the channel
        (or in the thread `channel_id`)."""
        author = author or self.member_user
        return {
            "id": self.snowflake(),
            "type": MESSAGE_TYPE_DEFAULT,
            "channel_id": channel_id or self.channel_id,
            "guild_id": self.guild_id,
            "author": author,
            "member": self.member(author, with_user=False),
            "content": content,
            "timestamp": timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [{**u, "member": self.member(u, with_user=False)} for u in mentions],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "flags": 0,
            "nonce": None,
        }

    def slash_command(
        self, name: str, options: dict[str, str], *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a chat-input command with string options."""
        registered = self.commands.get(self.guild_id, []) + self.commands.get("global", [])
        command = next((c for c in registered if c["name"] == name and c["type"] == 1), None)
        data = {
            "id": command["id"] if command else self.snowflake(),
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
            **({"guild_id": self.guild_id} if command and "guild_id" in command else {}),
        }
        return self._interaction(2, data, user or self.member_user)

    def button_click(
        self, message: dict[str, Any], custom_id: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a click on a button of `message` (in its channel
        or thread)."""
        data = {"custom_id": custom_id, "component_type": 2}
        channel = self.threads.get(message["channel_id"])
        click = self._interaction(3, data, user or self.member_user, channel=channel)
        return {**click, "message": message}

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: dict[str, Any],
        *,
        channel: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        channel = channel or self.channel()
        token = f"aW50ZXJhY3Rpb246{secrets.token_urlsafe(48)}"
        self.interactions[token] = interaction = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "guild_id": self.guild_id,
            "channel_id": channel["id"],
            "channel": channel,
            "member": {**self.member(user), "permissions": str(MEMBER_PERMISSIONS)},
            "app_permissions": str(MEMBER_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": 26_214_400,
        }
        return interaction

    def application(self) -> dict[str, Any]:
        """The application object of `GET /oauth2/applications/@me`."""
        return {
            "id": self.application_id,
            "name": "Verbatim",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner,
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
            "summary": "",
        }

    # -- the gateway --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        version, encoding = request.query.get("v"), request.query.get("encoding", "json")
        compress = request.query.get("compress")
        if version != "10" or encoding != "json" or compress not in (None, "zlib-stream"):
            # The fake speaks v10 JSON only; zstd-stream would need a library it does not use.
            return json_response(
                {"message": f"unsupported v={version} encoding={encoding} compress={compress}"},
                status=400,
            )
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        connection = Connection(
            next(self._connections), socket, zlib.compressobj() if compress else None
        )
        self._live.add(socket)
        await self._record(Opened(connection.number, request.path, dict(request.query)))
        try:
            await connection.send(
                {
                    "op": HELLO,
                    "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS},
                    "s": None,
                    "t": None,
                }
            )
            async for message in socket:
                if message.type is not WSMsgType.TEXT:
                    continue  # discord.py sends JSON text only
                payload = json.loads(message.data)
                await self._record(
                    Frame(connection.number, request.path, payload["op"], payload["d"])
                )
                await self._gateway_op(connection, payload["op"], payload["d"])
        finally:
            self._live.discard(socket)
            if self.session is not None and self.session.connection is connection:
                self.session.connection = None
            await self._record(Closed(connection.number, socket.close_code))
        return socket

    async def _gateway_op(self, connection: Connection, op: int, data: Any) -> None:
        if op == HEARTBEAT:
            await connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(connection, data)
        elif op == RESUME:
            await self._resume(connection, data)
        # Presence updates and member requests need no answer here.

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await connection.socket.close(
                code=AUTHENTICATION_FAILED, message=b"Authentication failed."
            )
            return
        if any(s.connection is connection for s in self.sessions.values()):
            await connection.socket.close(
                code=ALREADY_AUTHENTICATED, message=b"Already authenticated."
            )
            return
        session = Session(secrets.token_hex(16))
        self.sessions[session.id] = self.session = session
        session.connection = connection
        ready = (
            "READY",
            {
                "v": 10,
                "user": {**self.bot_user, "verified": True, "mfa_enabled": False},
                "guilds": [{"id": self.guild_id, "unavailable": True}],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.resume_gateway_url,
                "private_channels": [],
                "presences": [],
                "relationships": [],
                "application": {"id": self.application_id, "flags": 0},
                "geo_ordered_rtc_regions": [],
                "_trace": ['["fake-discord",{}]'],
            },
        )
        # The server follows READY at once; the test cannot push anything in between.
        await session.dispatch(ready, ("GUILD_CREATE", self.guild()))

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(data.get("session_id") or "")
        if session is None or data.get("token") != self.token:
            # d=false: the session cannot be resumed, identify again.
            await connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.session = session
        await session.resume(connection, int(data.get("seq") or 0))

    # -- REST ---------------------------------------------------------------------------------

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

    # -- plumbing -----------------------------------------------------------------------------

    async def _record(self, item: Request | Frame | Opened | Closed) -> None:
        if isinstance(item, Request):
            self.requests.append(item)
        elif isinstance(item, Frame):
            self.frames.append(item)
        elif isinstance(item, Opened):
            self.opens.append(item)
        else:
            self.closes.append(item)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    @staticmethod
    async def _body(request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        if request.content_type.startswith("multipart/"):
            # discord.py sends files as multipart with the message itself in payload_json.
            async for part in await request.multipart():
                if part.name == "payload_json":
                    return json.loads(await part.text())
            return None
        text = await request.text()
        return json.loads(text) if text else None

    def _json(self, data: Any, request: Request) -> web.Response:
        return json_response(data, headers=self._rate_limit_headers(request))

    @staticmethod
    def _rate_limit_headers(request: Request) -> dict[str, str]:
        """A generous bucket that is never exhausted (rate limits are not under test here)."""
        route = request.method + " " + re.sub(r"/\d+", "/{id}", request.path)
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": f"{zlib.crc32(route.encode()):08x}",
        }

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return json_response({"message": message, "code": code}, status=status)
