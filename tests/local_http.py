"""A tiny HTTP server on 127.0.0.1 in a thread, for fetching documents without the internet."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers: status, headers, body, and an optional delay before answering.

    `body` may be a function of the request body, for routes that echo what they are sent.
    """

    body: bytes | Callable[[bytes], bytes] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    send_length: bool = True  # False: no Content-Length, the body ends when the server closes


@dataclass
class LocalServer:
    """The running server: add routes to `routes` (keyed by path, or "METHOD path");
    `url(path)` is the full URL of a path."""

    port: int
    routes: dict[str, Route]
    hits: list[str]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextmanager
def local_server() -> Iterator[LocalServer]:
    routes: dict[str, Route] = {}
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length) if length else b""
            route = routes.get(f"{self.command} {self.path}") or routes.get(
                self.path, Route(b"not here", 404)
            )
            body = route.body(sent) if callable(route.body) else route.body
            if route.delay:
                time.sleep(route.delay)
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            if route.send_length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up (a timeout test)
                self.wfile.write(body)

        do_POST = do_PUT = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(server.server_address[1], routes, hits)
    finally:
        server.shutdown()
        server.server_close()
