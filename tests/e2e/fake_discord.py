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

This module holds the server, its gateway and what the test does; the REST routes are in
fake_rest.py, the payloads it builds in fake_payloads.py, the constants and records in
fake_wire.py.
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
from typing import Any

from aiohttp import WSMsgType, web

from tests.e2e.fake_payloads import Payloads
from tests.e2e.fake_rest import Rest
from tests.e2e.fake_wire import (
    ALREADY_AUTHENTICATED,
    API_PREFIX,
    AUTHENTICATION_FAILED,
    HEARTBEAT,
    HEARTBEAT_ACK,
    HEARTBEAT_INTERVAL_MS,
    HELLO,
    IDENTIFY,
    INVALID_SESSION,
    RESUME,
    UNKNOWN_ERROR,
    Closed,
    Connection,
    Frame,
    Opened,
    Request,
    Session,
    Snowflakes,
    json_response,
)


class FakeDiscord(Payloads, Rest):
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
