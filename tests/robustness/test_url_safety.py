"""URLs for /docs add: disguised loopback addresses, redirects to private ones, compression
bombs, and responses that drip forever are all refused with a reason. The only server is an
aiohttp app on 127.0.0.1; nothing leaves the machine."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from bot.config import DocumentSettings
from bot.engine.fetch import BlockedAddressError, Fetcher, GuardedResolver, is_public_address
from bot.errors import DocumentRejectedError
from tests.robustness.discord_world import running_world

PRIVATE = "private, loopback or link-local"
TEXT = b"Spare widgets are kept in the blue cabinet by the loading dock."
BOMB = gzip.compress(b"a" * 100_000_000, 1)  # 100 MB of text in ~100 KB


class Site:
    """An aiohttp app on 127.0.0.1 that records every path it was asked for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.port = 0
        self.app = web.Application()
        self.app.router.add_get("/{path:.*}", self.handle)
        self.redirects: dict[str, str] = {}

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        self.hits.append(path)
        if path in self.redirects:
            raise web.HTTPFound(self.redirects[path])
        if path == "/doc.txt":
            return web.Response(body=TEXT, content_type="text/plain")
        if path == "/bomb.txt":
            return web.Response(
                body=BOMB, headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"}
            )
        if path == "/drip.txt":
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await response.prepare(request)
            for _ in range(600):  # a byte every 50 ms for half a minute
                await response.write(b"a")
                await asyncio.sleep(0.05)
            return response
        raise web.HTTPNotFound()


@asynccontextmanager
async def site() -> AsyncIterator[Site]:
    served = Site()
    runner = web.AppRunner(served.app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    served.port = runner.addresses[0][1]
    try:
        yield served
    finally:
        await runner.cleanup()


def only_our_server(address) -> bool:
    """A test policy: 127.0.0.1 (the test's server) is allowed, nothing else private is."""
    return address == ipaddress.ip_address("127.0.0.1") or is_public_address(address)


async def fetch(url: str, allowed=None, **settings):
    async with Fetcher.open(DocumentSettings(**settings), allowed=allowed) as fetcher:
        return await fetcher.fetch(url)


DISGUISED_LOOPBACK = [
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",
    "0177.0.0.1",  # octal
    "127.1",
    "127.0.0.2",
    "0.0.0.0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "localhost",
    "LOCALHOST.",
    "localhost.localdomain",
]


@pytest.mark.parametrize("host", DISGUISED_LOOPBACK)
async def test_loopback_in_disguise_is_refused_by_default(host):
    async with site() as served:
        with pytest.raises(DocumentRejectedError) as refused:
            await fetch(served.url("/doc.txt", host=host))
    message = refused.value.message
    # Names that do not resolve here (no DNS offline) cannot be fetched at all.
    assert PRIVATE in message or (host.endswith(".") or "localdomain" in host), message
    assert served.hits == []  # refused before any connection reached the server


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://metadata.google.internal./computeMetadata/v1/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://127.0.0.2:{port}/doc.txt",
        "http://[::1]:{port}/doc.txt",
        "http://2130706433:{port}/doc.txt",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://[2002:a9fe:a9fe::1]/latest/meta-data/",
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(target):
    async with site() as served:
        served.redirects["/go"] = target.format(port=served.port)
        with pytest.raises(DocumentRejectedError) as refused:
            await fetch(served.url("/go"), allowed=only_our_server)
    message = refused.value.message
    assert PRIVATE in message or "could not be fetched" in message, message
    assert served.hits == ["/go"]


# IPv6 addresses that lead to an IPv4 one: (address, whether it may be fetched).
IPV6_TO_IPV4 = [
    ("64:ff9b::7f00:1", False),  # NAT64 well-known prefix (RFC 6052) around 127.0.0.1
    ("64:ff9b::10.0.0.1", False),
    ("64:ff9b::a9fe:a9fe", False),  # the cloud metadata address
    ("64:ff9b::5db8:d822", True),  # 93.184.216.34: how DNS64 gives a public IPv4-only host
    ("64:ff9b:1::7f00:1", False),  # NAT64 local use (RFC 8215): refused whatever it embeds
    ("64:ff9b:1:5db8:d8:2200::", False),
    ("2002:7f00:1::1", False),  # 6to4 (deprecated): refused whatever it embeds
    ("2002:5db8:d822::1", False),
    ("::127.0.0.1", False),  # IPv4-compatible (deprecated): refused whatever it embeds
    ("::93.184.216.34", False),
    ("::ffff:0:127.0.0.1", False),  # IPv4-translated (SIIT): refused whatever it embeds
    ("::ffff:0:93.184.216.34", False),
    ("fec0::1", False),  # site-local (deprecated): a private network
    ("fec0:0:0:1::a9fe:a9fe", False),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:a247:27dd", False),  # Teredo, client 93.184.216.34
    ("::ffff:127.0.0.1", False),  # IPv4-mapped: judged by the IPv4 address, as before
    ("::ffff:93.184.216.34", True),
]


@pytest.mark.parametrize(("address", "public"), IPV6_TO_IPV4)
def test_ipv6_that_leads_to_ipv4_is_judged_by_it_or_refused(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("address", [a for a, public in IPV6_TO_IPV4 if not public])
async def test_urls_with_those_addresses_are_refused_before_connecting(address):
    async with site() as served:
        with pytest.raises(DocumentRejectedError, match=PRIVATE):
            await fetch(served.url("/doc.txt", host=f"[{address}]"), fetch_timeout=2)
    assert served.hits == []


class AnswersWith:
    """A DNS server that answers every name with the given addresses."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self):
        pass


@pytest.mark.parametrize(("address", "public"), IPV6_TO_IPV4)
async def test_a_name_that_resolves_to_those_addresses_is_judged_the_same(address, public):
    guarded = GuardedResolver(is_public_address, AnswersWith("93.184.216.34", address))
    if public:
        resolved = await guarded.resolve("docs.example.test", 443, socket.AF_UNSPEC)
        assert [r["host"] for r in resolved] == ["93.184.216.34", address]
    else:
        with pytest.raises(BlockedAddressError):
            await guarded.resolve("docs.example.test", 443, socket.AF_UNSPEC)


async def test_a_compression_bomb_stops_at_the_size_limit():
    async with site() as served:
        started = time.perf_counter()
        with pytest.raises(DocumentRejectedError, match="larger than the limit of 1,000,000"):
            await fetch(served.url("/bomb.txt"), allowed=only_our_server, max_bytes=1_000_000)
    # It stopped after about a megabyte of output, not after inflating all 100 MB.
    assert time.perf_counter() - started < 5


async def test_a_response_that_drips_forever_is_cut_off_at_the_timeout():
    async with site() as served:
        started = time.perf_counter()
        with pytest.raises(DocumentRejectedError, match="took longer than 0.5 seconds"):
            await fetch(served.url("/drip.txt"), allowed=only_our_server, fetch_timeout=0.5)
    assert time.perf_counter() - started < 3


async def test_docs_add_refuses_them_through_the_bot_and_adds_nothing(tmp_path):
    async with site() as served, running_world(tmp_path) as world:
        server = world.server()
        refused = await server.moderator.slash(
            server.channel, "docs add", url=served.url("/doc.txt", host="2130706433")
        )
        assert refused.ephemeral and PRIVATE in refused.response.content
        world.expected_errors()
        await world.restart(documents={"allow_private_urls": True, "max_bytes": 1_000_000})
        bomb = await server.moderator.slash(server.channel, "docs add", url=served.url("/bomb.txt"))
        assert "larger than the limit of 1,000,000 bytes" in bomb.response.content
        world.expected_errors()
        assert await world.bot.store.list_documents(server.guild.id) == []
        fine = await server.moderator.slash(server.channel, "docs add", url=served.url("/doc.txt"))
        assert fine.response.content.startswith("Added")
