"""A small reverse proxy for the tests of ``auth.mode: proxy`` (issue 14): what Authelia or
oauth2-proxy behind Caddy would do, without either. It listens on 127.0.0.1, connects to the app
*from 127.0.0.2* (so the app can tell it from a client that comes straight to it: Linux answers
on all of 127/8), drops any identity header the client sent, and sets its own, naming the user
``user_for(request headers)`` says (None: no header, as for a visitor the proxy did not log in).

Threads, one per connection, responses streamed as they come (event streams work through it);
each response closes its connection, which keeps it short and correct.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

__all__ = ["ReverseProxy"]

PROXY_SOURCE = "127.0.0.2"
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


class ReverseProxy:
    def __init__(
        self,
        upstream_port: int,
        user_for: Callable[[dict[str, str]], str | None],
        header: str = "Remote-User",
    ) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                incoming = {k: v for k, v in self.headers.items()}
                headers = {
                    k: v
                    for k, v in incoming.items()
                    if k.lower() not in _HOP and k.lower() != header.lower()
                }
                user = user_for(incoming)
                if user is not None:
                    headers[header] = user
                headers["X-Forwarded-For"] = self.client_address[0]
                headers["X-Forwarded-Proto"] = "http"
                upstream = http.client.HTTPConnection(
                    "127.0.0.1", upstream_port, timeout=60, source_address=(PROXY_SOURCE, 0)
                )
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    self.send_response_only(response.status, response.reason)
                    for name, value in response.getheaders():
                        if name.lower() not in _HOP and name.lower() != "content-length":
                            self.send_header(name, value)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    while chunk := response.read1(65536):
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (OSError, http.client.HTTPException):
                    pass
                finally:
                    upstream.close()
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        proxy.port = self._server.server_address[1]

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ReverseProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
