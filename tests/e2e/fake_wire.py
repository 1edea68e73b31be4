"""The fake Discord's wire: its constants, snowflakes, recorded requests and gateway frames."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

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
