"""Fetching documents by URL: limits, types, redirects, and no way to reach private addresses."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp import web

from bot.config import DocumentSettings
from bot.engine.fetch import Fetcher, GuardedResolver, is_public_address
from bot.errors import DocumentRejectedError
from tests.local_http import Route, local_server

TEXT = b"Spare widgets are kept in the blue cabinet."
PLAIN = {"Content-Type": "text/plain; charset=utf-8"}
PRIVATE = "private, loopback or link-local"


def only_loopback_one(address) -> bool:
    """A test policy: 127.0.0.1 (our local server) is allowed, nothing else private is."""
    return address == ipaddress.ip_address("127.0.0.1") or is_public_address(address)


async def fetch(url: str, allowed=only_loopback_one, **settings):
    async with Fetcher.open(DocumentSettings(**settings), allowed=allowed) as fetcher:
        return await fetcher.fetch(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_private_addresses_are_not_public(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.txt",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://10.1.2.3/",
        "http://localhost/",
    ],
)
async def test_private_urls_are_refused_by_default(url):
    with pytest.raises(DocumentRejectedError, match=PRIVATE):
        await fetch(url, allowed=None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/a.txt", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("https://user:pw@example.com/a.txt", "user name or password"),
        ("not a url at all", "Only http:// and https://"),
    ],
)
async def test_other_urls_are_refused(url, message):
    with pytest.raises(DocumentRejectedError, match=message):
        await fetch(url)


async def test_a_document_is_fetched_through_redirects():
    with local_server() as site:
        site.routes["/doc.txt"] = Route(TEXT, headers=PLAIN)
        site.routes["/old"] = Route(status=301, headers={"Location": "/doc.txt"})
        fetched = await fetch(site.url("/old"))
    assert fetched.data == TEXT
    assert fetched.url == site.url("/doc.txt") and fetched.filename == "doc.txt"
    assert fetched.content_type.startswith("text/plain")


async def test_allow_private_urls_lets_local_servers_through():
    with local_server() as site:
        site.routes["/doc.txt"] = Route(TEXT, headers=PLAIN)
        fetched = await fetch(site.url("/doc.txt"), allowed=None, allow_private_urls=True)
    assert fetched.data == TEXT


async def test_every_redirect_hop_is_checked():
    with local_server() as site:
        site.routes["/to-metadata"] = Route(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
        )
        site.routes["/to-other-loopback"] = Route(
            status=307, headers={"Location": f"http://127.0.0.2:{site.port}/doc.txt"}
        )
        site.routes["/to-ftp"] = Route(status=302, headers={"Location": "ftp://example.com/x"})
        site.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
        for path, message in [
            ("/to-metadata", PRIVATE),
            ("/to-other-loopback", PRIVATE),
            ("/to-ftp", "Only http:// and https://"),
            ("/loop", "redirects more than 5 times"),
        ]:
            with pytest.raises(DocumentRejectedError, match=message):
                await fetch(site.url(path))
    assert site.hits.count("/loop") == 6


async def test_limits_types_and_status():
    with local_server() as site:
        site.routes["/big.txt"] = Route(b"x" * 5000, headers=PLAIN)
        site.routes["/big-streamed.txt"] = Route(b"x" * 5000, headers=PLAIN, send_length=False)
        site.routes["/image"] = Route(b"\x89PNG", headers={"Content-Type": "image/png"})
        site.routes["/slow.txt"] = Route(TEXT, headers=PLAIN, delay=2.0)
        for path, message in [
            ("/big.txt", "larger than the limit of 1,000 bytes"),
            ("/big-streamed.txt", "larger than the limit of 1,000 bytes"),
            ("/image", "serves image/png, not text, Markdown, HTML or PDF"),
            ("/missing.txt", "The server answered 404"),
            ("/slow.txt", "took longer than 0.3 seconds"),
        ]:
            with pytest.raises(DocumentRejectedError, match=message):
                await fetch(site.url(path), max_bytes=1000, fetch_timeout=0.3)


class Rebinding:
    """A DNS server that answers a public address first and a private one afterwards."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    async def resolve(self, host, port=0, family=socket.AF_INET):
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in answer
        ]

    async def close(self):
        pass


async def test_the_resolver_refuses_any_private_answer_and_returns_only_what_it_checked():
    guarded = GuardedResolver(is_public_address, Rebinding([["93.184.216.34"], ["127.0.0.1"]]))
    first = await guarded.resolve("example.test", 80)
    assert [r["host"] for r in first] == ["93.184.216.34"]
    with pytest.raises(Exception, match="resolves to 127.0.0.1"):
        await guarded.resolve("example.test", 80)  # the rebinding answer is refused

    mixed = GuardedResolver(is_public_address, Rebinding([["93.184.216.34", "10.0.0.1"]]))
    with pytest.raises(Exception, match="resolves to 10.0.0.1"):
        await mixed.resolve("example.test", 80)


async def test_a_host_name_that_resolves_to_a_private_address_is_refused():
    resolver = Rebinding([["10.0.0.1"]])
    async with Fetcher.open(DocumentSettings(), resolver=resolver) as fetcher:
        with pytest.raises(DocumentRejectedError, match=PRIVATE):
            await fetcher.fetch("http://intranet.example.test/doc.txt")
    assert resolver.calls == 1


async def test_a_long_status_reason_is_quoted_short():
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=410, reason="Gone " + "far away " * 400)

    app = web.Application()
    app.router.add_get("/a.txt", gone)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        with pytest.raises(DocumentRejectedError) as refused:
            await fetch(f"http://127.0.0.1:{runner.addresses[0][1]}/a.txt")
    finally:
        await runner.cleanup()
    assert refused.value.message.startswith("The server answered 410 Gone far away")
    assert len(refused.value.message) <= 150
