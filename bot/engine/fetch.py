"""Fetch a document from an http(s) URL for /docs add, refusing what could reach inside.

Every address a connection may use comes from `GuardedResolver`, which refuses the whole
host when any address it resolves to is not allowed; aiohttp then connects only to the
addresses that resolver returned, so the address checked is the address used and a DNS answer
that changes between check and connect (rebinding) cannot slip through. Redirects are
followed by hand so that every hop's scheme and literal address are checked too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from bot.config import DocumentSettings
from bot.errors import DocumentRejectedError
from retrieval.extract import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

MAX_REDIRECTS = 5
# A remote server's status reason or type is quoted in a refusal up to this many characters.
MAX_REASON_CHARS = 100
ACCEPTED_TYPES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/x-markdown",
        "text/html",
        "application/xhtml+xml",
        "application/pdf",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# IPv6 ranges that reach an IPv4 address this guard cannot check, or are local by definition.
# Python (3.11) counts them as global. None is how a public document server is reached today.
_REFUSED_IPV6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/96",  # IPv4-compatible, ::a.b.c.d (deprecated by RFC 4291)
        "::ffff:0:0:0/96",  # IPv4-translated, ::ffff:0:a.b.c.d (SIIT)
        "64:ff9b:1::/48",  # NAT64 local use (RFC 8215): the IPv4 address sits where a site says
        "2001::/32",  # Teredo: a tunnel to the IPv4 address it carries
        "2002::/16",  # 6to4: a tunnel to the IPv4 address it carries (deprecated by RFC 7526)
        "fec0::/10",  # site-local (deprecated by RFC 3879): a private network's addresses
    )
)
_USER_AGENT = "Verbatim document fetcher (+https://github.com/verbatim-bot)"


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is on the public internet (not private, loopback, link-local, …).

    IPv6 addresses that lead to an IPv4 one are judged by that IPv4 address where it is known
    exactly (mapped, NAT64's well-known prefix) and refused outright where it is not.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in _NAT64:
            # DNS64 gives IPv4-only hosts these addresses on IPv6-only networks, and the gateway
            # connects to the IPv4 address in the last 32 bits (RFC 6052): judge that one.
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        elif any(address in network for network in _REFUSED_IPV6):
            return False
    return address.is_global and not address.is_multicast


def any_address(address: IPAddress) -> bool:
    """The policy when documents.allow_private_urls is on: every address is allowed."""
    return True


class BlockedAddressError(Exception):
    """A URL's host is, or resolves to, an address the policy refuses."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}")
        self.host = host
        self.address = address


class GuardedResolver(AbstractResolver):
    """A resolver that refuses hosts with any disallowed address (and so pins connections)."""

    def __init__(self, allowed: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._allowed = allowed
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve with the inner resolver, then refuse if any address is not allowed."""
        if self._inner is None:
            self._inner = ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].split("%", 1)[0])
            if not self._allowed(address):
                raise BlockedAddressError(host, result["host"])
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        if self._inner is not None:
            await self._inner.close()


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document: its bytes, declared type, final URL, and a usable file name."""

    data: bytes
    content_type: str | None
    url: str
    filename: str | None


class Fetcher:
    """Fetches documents over one aiohttp session whose every connection is guarded."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: DocumentSettings, allowed: AddressPolicy
    ) -> None:
        self.session = session
        self.settings = settings
        self._allowed = allowed

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: DocumentSettings,
        *,
        allowed: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
    ) -> AsyncIterator[Self]:
        """Open the session; `allowed` and `resolver` default to the configured policy and DNS."""
        if allowed is None:
            allowed = any_address if settings.allow_private_urls else is_public_address
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(allowed, resolver), limit=8)
        async with aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": _USER_AGENT},
            auto_decompress=True,
            trust_env=False,
        ) as session:
            yield cls(session, settings, allowed)

    async def fetch(self, url: str) -> Fetched:
        """The document at `url`, or DocumentRejectedError saying why it cannot be used."""
        timeout = self.settings.fetch_timeout
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(url)
        except TimeoutError:
            raise DocumentRejectedError(
                f"Fetching the URL took longer than {timeout:g} seconds."
            ) from None
        except BlockedAddressError as error:
            raise _blocked(error) from None
        except aiohttp.ClientError as error:
            blocked = _blocked_cause(error)
            if blocked is not None:
                raise _blocked(blocked) from None
            log.info("fetching %s failed: %r", url, error)
            raise DocumentRejectedError(
                f"The URL could not be fetched ({_reason(error)})."
            ) from None

    async def _follow(self, url: str) -> Fetched:
        current = self._checked(url)
        for _ in range(MAX_REDIRECTS + 1):
            async with self.session.get(current, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise DocumentRejectedError("The URL redirects without saying where.")
                    current = self._checked(str(response.url.join(URL(location))))
                    continue
                if response.status != 200:
                    # The reason phrase is the remote server's text: keep the refusal short.
                    reason = " ".join((response.reason or "").split())[:MAX_REASON_CHARS]
                    if not reason:
                        raise DocumentRejectedError(f"The server answered {response.status}.")
                    raise DocumentRejectedError(
                        f"The server answered {response.status} {{reason}}.", reason=reason
                    )
                content_type = self._checked_type(response)
                data = await self._read(response)
                return Fetched(data, content_type, str(current), _filename(current))
        raise DocumentRejectedError(f"The URL redirects more than {MAX_REDIRECTS} times.")

    def _checked(self, url: str) -> URL:
        try:
            parsed = URL(url)
        except (ValueError, TypeError):
            raise DocumentRejectedError("That is not a valid URL.") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise DocumentRejectedError("Only http:// and https:// URLs can be added.")
        if parsed.user or parsed.password:
            raise DocumentRejectedError("URLs with a user name or password are not accepted.")
        try:
            literal: IPAddress = ipaddress.ip_address(parsed.host.split("%", 1)[0])
        except ValueError:
            legacy = _legacy_ipv4(parsed.host)
            if legacy is None:
                return parsed  # a host name: GuardedResolver checks what it resolves to
            literal = legacy
        if not self._allowed(literal):
            raise _blocked(BlockedAddressError(parsed.host, str(literal)))
        return parsed

    def _checked_type(self, response: aiohttp.ClientResponse) -> str | None:
        declared = response.headers.get("Content-Type")
        if not declared:
            return None
        media = declared.split(";", 1)[0].strip().lower()
        if media not in ACCEPTED_TYPES:
            # The type is the remote server's text too.
            raise DocumentRejectedError(
                "The URL serves {media}, not text, Markdown, HTML or PDF.",
                media=media[:MAX_REASON_CHARS] or "an unknown type",
            )
        return declared

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_bytes
        too_large = DocumentRejectedError(
            f"The document is larger than the limit of {limit:,} bytes."
        )
        if response.content_length is not None and response.content_length > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 written the old ways resolvers still accept: 2130706433, 0x7f.1, 0177.0.0.1, 127.1."""
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _filename(url: URL) -> str | None:
    name = PurePosixPath(url.path).name
    return name if PurePosixPath(name).suffix.lower() in SUPPORTED_SUFFIXES else None


def _blocked(error: BlockedAddressError) -> DocumentRejectedError:
    return DocumentRejectedError(
        f"That URL points to a private, loopback or link-local address ({error.address}), "
        "which is not allowed."
    )


def _blocked_cause(error: BaseException) -> BlockedAddressError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, BlockedAddressError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _reason(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return "cannot connect to the host"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "the response was broken off"
    return type(error).__name__
