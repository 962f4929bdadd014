"""A loopback HTTP proxy in front of a test server that can break the way networks and load balancers break.

mastodon-mock injects HTTP-level faults itself (statuses, 429s, slow and malformed answers); what it cannot do is
misbehave below HTTP or pretend to be a proxy. This does, switched at run time through `mode`:
- `pass`: forward (one request per connection, so a mode change applies to the very next request);
- `reset`: accept the connection and reset it (RST) before any answer, as a crashed instance or a firewall does;
- `html502`: answer as nginx does when the instance behind it is down: a 502 with an HTML page;
- `html200`: answer 200 with an HTML page (a captive portal, a maintenance page served with the wrong status).
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" \
    b"<hr><center>nginx</center></body></html>"


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


class FaultyProxy:
    """Forwards 127.0.0.1:`port` to `target_port`, or breaks as `mode` says."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "pass"
        self.connections = 0
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.connections += 1
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handle(self, conn: socket.socket) -> None:
        mode = self.mode
        if mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return
        request = _read_request(conn)
        if mode in ("html502", "html200"):
            status = b"502 Bad Gateway" if mode == "html502" else b"200 OK"
            conn.sendall(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: "
                + str(len(HTML_PAGE)).encode() + b"\r\n\r\n" + HTML_PAGE
            )
            return
        with socket.create_connection(("127.0.0.1", self.target_port), timeout=30) as upstream:
            upstream.sendall(request)
            while chunk := upstream.recv(65536):
                conn.sendall(chunk)

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @contextmanager
    def broken(self, mode: str) -> Iterator[None]:
        """Break the way `mode` says for the duration of the block."""
        self.mode = mode
        try:
            yield
        finally:
            self.mode = "pass"


@contextmanager
def proxied(target_port: int) -> Iterator[FaultyProxy]:
    """A running proxy to `target_port`."""
    with FaultyProxy(target_port) as proxy:
        yield proxy
