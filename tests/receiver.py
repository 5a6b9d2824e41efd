"""A webhook receiver on loopback, for the tests and the benchmarks (``bench/reach.py``).

An HTTP server on 127.0.0.1 in a thread: it records each POST and answers with the next step
of its ``script``, then with ``then`` for every request after that. A step is a status code or
``"hang"``: read the request and answer nothing until the receiver is closed (or 60 s pass).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

Step = int | str


@attrs.define
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, script: list[Step] | None = None, then: Step = 200) -> None:
        self.script = list(script or [])
        self.received: list[Received] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append(Received(self.path, dict(self.headers.items()), body))
                step = outer.script.pop(0) if outer.script else then
                if step == "hang":
                    outer.release.wait(60)
                    return
                self.send_response(int(step))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
