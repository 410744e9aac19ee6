"""A reverse proxy on 127.0.0.1 that counts the bytes a real server sends.

Put in front of pypiserver, it tells how many bytes of each file pip fetched
(range requests included), so a test can assert on bytes served, not on time.
Requests and headers pass through unchanged (``Range`` in, ``Content-Range``
and status 206 out): the server's own range support is what is tested.
"""

from __future__ import annotations

import http.client
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_PASSED_REQUEST_HEADERS = ("Range", "Accept", "Accept-Encoding", "If-None-Match")
_DROPPED_RESPONSE_HEADERS = {"connection", "transfer-encoding", "keep-alive"}


class CountingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self.bytes_by_path: dict[str, int] = defaultdict(int)
        self.requests_by_path: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self, method: str) -> None:
                conn = http.client.HTTPConnection(proxy._host, proxy._port, timeout=30)
                headers = {
                    h: self.headers[h]
                    for h in _PASSED_REQUEST_HEADERS
                    if h in self.headers
                }
                conn.request(method, self.path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                path = urlsplit(self.path).path
                with proxy._lock:
                    proxy.requests_by_path[path] += 1
                    if method == "GET":
                        proxy.bytes_by_path[path] += len(body)
                self.send_response(resp.status)
                for name, value in resp.getheaders():
                    if name.lower() in _DROPPED_RESPONSE_HEADERS:
                        continue
                    if name.lower() == "content-length":
                        continue
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_HEAD(self) -> None:
                self._forward("HEAD")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/simple/"

    def bytes_of(self, filename: str) -> int:
        return sum(
            n for p, n in self.bytes_by_path.items() if p.endswith("/" + filename)
        )

    def requests_of(self, filename: str) -> int:
        return sum(
            n for p, n in self.requests_by_path.items() if p.endswith("/" + filename)
        )

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
