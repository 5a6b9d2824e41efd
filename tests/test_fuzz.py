"""Fuzzing the API from its own OpenAPI document with schemathesis, against the real process.

``python -m mediarip`` runs as a person starts it; schemathesis (its ``st run`` command, in a
subprocess, so that its pytest plugin and Hypothesis runner stay out of pytest-trio's way) loads
``/api/openapi.json`` from it and sends a bounded number of generated requests to every
operation: valid and invalid bodies, parameters and methods (coverage, fuzzing and stateful
phases). Every answer must be no 5xx, and must match the document: a documented status code,
content type, headers and body schema. A request that never gets an answer (a wedged
connection) is a failure too.

Four runs, each against its own server:

- ``open``: the default set-up (no API key, admin setup pending), anonymous client.
- ``keyed-anonymous``: an API key and an admin password are set; the client has neither, so
  every change must be refused as documented (401).
- ``keyed-wrong-key``: the same, the client shows a wrong key: every operation, reads too, is
  a documented 401.
- ``keyed-admin``: the same, the client sends the key and the admin cookie, so the handlers
  behind the guard and the admin endpoints answer for real.

Loopback only: the server listens on 127.0.0.1, private networks are off (so a generated URL
naming a private address is refused at once), and yt-dlp is sent through a proxy on
127.0.0.1, which the SSRF guard refuses: a generated URL can make the server reach nothing.

``/api/events`` never ends, so it is left out of the fuzzing and checked by hand below.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 50  # per operation and phase
REQUEST_TIMEOUT = 5  # seconds: an answer that takes longer is a wedged connection
RUN_TIMEOUT = 400  # seconds for one schemathesis run, whatever happens (~30 operations)
SEED = int(os.environ.get("MEDIARIP_FUZZ_SEED", "20261125"))
API_KEY = "fuzz-" + secrets.token_hex(16)
ADMIN_PASSWORD = "fuzzing horse battery"
# No download may reach anything: the proxy is on loopback, which the SSRF guard refuses.
LOOPBACK_ONLY = {
    "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "false",
    "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
    "MEDIARIP__DOWNLOADS__SOCKET_TIMEOUT": "2",
    "MEDIARIP__YTDLP__EXTRA_OPTIONS": json.dumps({"proxy": "http://127.0.0.1:9"}),
    "MEDIARIP__YTDLP__CHECK_UPDATES": "false",
    # The admin run reaches the yt-dlp update endpoints: a closed port, never PyPI.
    "MEDIARIP__YTDLP__INDEX_URL": "http://127.0.0.1:9/simple/",
}
KEYED = {"MEDIARIP__SERVER__API_KEY": API_KEY, "MEDIARIP__ADMIN__PASSWORD": ADMIN_PASSWORD}
LOCAL = {"MEDIARIP__AUTH__MODE": "local", "MEDIARIP__ADMIN__PASSWORD": ADMIN_PASSWORD}
EVENTS = "/api/events"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mediarip_process(root: Path, env: dict[str, str]) -> Iterator[str]:
    """``python -m mediarip`` on a free loopback port; yields its base URL."""
    port = _free_port()
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP__")},
        "MEDIARIP__SERVER__HOST": "127.0.0.1",
        "MEDIARIP__SERVER__PORT": str(port),
        "MEDIARIP__SERVER__DATA_DIR": str(root / "data"),
        "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(root / "downloads"),
        **LOOPBACK_ONLY,
        **env,
    }
    base = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mediarip"], cwd=root, env=environ, stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def admin_cookie(base: str) -> str:
    """Log in as the admin (with the API key, as an outside client must)."""
    response = httpx.post(
        f"{base}/api/admin/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        headers={"X-API-Key": API_KEY},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.cookies["mrip_admin"]


def admin_user_key(base: str) -> str:
    """Log in as the admin user (local mode) and make an API key that acts as them."""
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/api/config/public")
        token = {"X-CSRF-Token": client.cookies.get("mrip_csrf") or ""}
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        assert client.post("/api/auth/login", json=login, headers=token).status_code == 200
        made = client.post(
            "/api/auth/keys",
            json={"name": "fuzz"},
            headers={"X-CSRF-Token": client.cookies["mrip_csrf"]},
        )
        assert made.status_code == 201, made.text
        return str(made.json()["key"])


def run_schemathesis(
    base: str,
    workdir: Path,
    *,
    headers: dict[str, str],
    exclude: list[tuple[str, str]],
    reader: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """``st run`` against ``base``; returns its JSON report and its console output.

    The document is read from the server first and handed over as a file: schemathesis would
    send ``headers`` (a wrong key) with its own request for it, and it leaves the document's
    own URL out of the run when it loads the document from there."""
    document = workdir / "openapi.json"
    document.write_bytes(
        httpx.get(f"{base}/api/openapi.json", headers=reader or {}, timeout=10).content
    )
    report = workdir / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(document),
        "--url",
        base,
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        str(REQUEST_TIMEOUT),
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    for method, path in exclude:
        command += ["--exclude-name", f"{method} {path}"]
    environ = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    result = subprocess.run(
        command,
        cwd=workdir,
        env=environ,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert report.is_file(), output
    return json.loads(report.read_text()), output


def _findings(output: str) -> str:
    """The console output's failures and errors (what to read when the test fails)."""
    for marker in ("=== ERRORS ===", "=== FAILURES ==="):
        at = output.find(marker)
        if at != -1:
            start = output.rfind("\n", 0, at)
            end = output.find("=== WARNINGS ===")
            return output[start : end if end != -1 else None]
    return output[-6000:]


SCENARIOS = {
    # id: (server environment, what the client shows: nothing, a wrong key, key and admin)
    "open": ({}, "nothing"),
    "keyed-anonymous": (KEYED, "nothing"),
    "keyed-wrong-key": (KEYED, "wrong-key"),
    "keyed-admin": (KEYED, "key-and-admin"),
    # issue 14: accounts on; the client is the admin user, through their own API key (a
    # password reset the fuzzer makes cannot end it, as it would a login).
    "local-admin-user": (LOCAL, "user-key"),
}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_answer_matches_the_openapi_document(tmp_path: Path, scenario: str) -> None:
    env, client = SCENARIOS[scenario]
    exclude = [("GET", EVENTS)]
    with mediarip_process(tmp_path, env) as base:
        headers: dict[str, str] = {}
        reader: dict[str, str] = {}  # what reading the document needs (accounts: a user)
        if client == "wrong-key":
            headers = {"X-API-Key": API_KEY[::-1]}
        elif client == "key-and-admin":
            headers = {"X-API-Key": API_KEY, "Cookie": f"mrip_admin={admin_cookie(base)}"}
            # Logging out would end the admin session the rest of the run relies on; the
            # other runs fuzz it.
            exclude.append(("POST", "/api/admin/logout"))
        elif client == "user-key":
            headers = reader = {"X-API-Key": admin_user_key(base)}
        if client in ("key-and-admin", "user-key"):
            # A notification target may name any address (the admin's is trusted, private
            # ones too), so the fuzzer must make none: a generated URL could be anywhere.
            # tests/test_reach.py covers these with loopback receivers.
            exclude += [
                ("POST", "/api/admin/notifications"),
                ("PATCH", "/api/admin/notifications/{target_id}"),
                ("POST", "/api/admin/notifications/{target_id}/test"),
            ]
        document = httpx.get(f"{base}/api/openapi.json", headers=reader, timeout=10).json()
        report, output = run_schemathesis(
            base, tmp_path, headers=headers, exclude=exclude, reader=reader
        )

    operations = sum(len(methods) for methods in document["paths"].values())
    summary = report["operations"]
    assert summary["total"] == operations, summary
    assert summary["selected"] == summary["total"] - len(exclude), summary
    assert summary["tested"] == summary["selected"], (summary, output[-3000:])
    assert report["test_cases"]["generated"] >= summary["tested"] * 5, report["test_cases"]
    assert report["complete"], output[-3000:]
    problems = {"failures": report["failures"], "errors": report["errors"]}
    hint = ""
    if "Read timed out" in output:
        hint = (
            "\n'Read timed out': the request shown waited on a connection that an earlier "
            "request, whose body the server answered without reading, had wedged; see "
            "test_an_unread_request_body_does_not_wedge_the_connection.\n"
        )
    assert report["exit_code"] == 0 and not any(problems.values()), (
        f"schemathesis ({scenario}, seed {SEED}) found: "
        f"{json.dumps(problems, indent=1)}{hint}\n{_findings(output)}"
    )


def test_what_the_fuzzing_leaves_out_matches_the_openapi_document(tmp_path: Path) -> None:
    """By hand: ``/api/openapi.json`` is a JSON object as documented, and ``/api/events`` is a
    200 ``text/event-stream`` whose ``init`` lists jobs as the document's Job schema says."""
    with mediarip_process(tmp_path, {}) as base, httpx.Client(base_url=base, timeout=10) as client:
        response = client.get("/api/openapi.json")
        document = response.json()
        own = document["paths"]["/api/openapi.json"]["get"]["responses"]
        assert response.headers["content-type"].split(";")[0] in own["200"]["content"]
        assert response.status_code == 200 and isinstance(document, dict)
        documented = document["paths"][EVENTS]["get"]["responses"]
        created = client.post("/api/downloads", json={"url": "http://10.0.0.1/x.mp4"})
        assert created.status_code == 400  # a private address: refused, no job
        created = client.post("/api/downloads", json={"url": "https://example.invalid/x.mp4"})
        assert created.status_code == 201, created.text  # fails at once through the proxy
        job_schema = {"$ref": "#/components/schemas/Job", "components": document["components"]}
        validator = jsonschema_rs.validator_for(job_schema)
        with client.stream("GET", EVENTS) as response:
            assert str(response.status_code) in documented
            content_type = response.headers["content-type"].split(";")[0]
            assert content_type in documented[str(response.status_code)]["content"]
            frames = response.iter_lines()
            assert next(frames).startswith("retry: ")
            lines: list[str] = []
            for line in frames:
                if line == "" and any(x.startswith("data:") for x in lines):
                    break
                lines.append(line)
        fields = dict(line.split(": ", 1) for line in lines if ": " in line)
        assert fields["event"] == "init"
        jobs = json.loads(fields["data"])["jobs"]
        assert [job["id"] for job in jobs] == [created.json()["id"]]
        for job in jobs:
            errors = [e.message for e in validator.iter_errors(job)]
            assert not errors, (job, errors)
        # The harness's own promise: a download is sent to the loopback proxy and refused.
        deadline = time.monotonic() + 30
        while (job := client.get(f"/api/downloads/{created.json()['id']}").json())[
            "status"
        ] != "failed":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["error"]["code"] == "blocked_address", job["error"]
        assert "127.0.0.1" in job["error"]["message"], job["error"]


# -- what the fuzzing found: a body the server does not read wedges the connection ---------------

# Requests whose body no handler reads, each answered at once: a 405 from routing, the automatic
# OPTIONS answer, a 404 for no route, a 404 from a handler that ignores the body, a 204 from one,
# a read that carries a body, and a refusal (401, "Connection: close") of the admin gate.
UNREAD_BODIES = [
    ("PUT", "/api/url-info"),
    ("OPTIONS", "/api/cookies"),
    ("POST", "/api/nope"),
    ("POST", "/api/downloads/0b0e7c1e-5d55-4a55-9d0e-8d1b2c3d4e5f/cancel"),
    ("DELETE", "/api/cookies"),
    ("GET", "/api/health"),
    ("POST", "/api/admin/purge"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mediarip_process(tmp_path_factory.mktemp("server"), {}) as base:
        yield base


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body); its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed mid-response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536)
    return head


@pytest.mark.parametrize(("method", "path"), UNREAD_BODIES)
def test_an_unread_request_body_does_not_wedge_the_connection(
    server: str, method: str, path: str
) -> None:
    """The next request on the kept-alive connection is answered, or the server closes it.

    The fuzzer's "Read timed out" errors: the body reaches the server just after its answer
    was sent (as it does whenever a client's headers and body arrive in two packets), and
    Hypercorn then neither finishes the request nor closes the connection."""
    body = b'{"url": "http://127.0.0.1:9/never.mp4"}'
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        time.sleep(0.2)  # the body comes in a second packet, after the answer
        sock.sendall(body)
        head = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 "), head
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            following = sock.recv(65536)
        except TimeoutError:
            pytest.fail(
                f"after {head.split(b' ', 2)[1].decode()} to {method} {path}, the next request "
                "on the same connection hangs: neither answered nor closed"
            )
        except ConnectionResetError:
            following = b""
        if following:
            assert following.startswith(b"HTTP/1.1 200"), following[:80]
        else:
            assert b"connection: close" in head.lower(), "closed without saying so"


@pytest.mark.parametrize(
    "url",
    ["http://[", "http://x]/", "https://[::1/x", " HTTP://[", "http://\x00", "http://a\x00b/"],
)
def test_a_url_the_address_check_cannot_parse_is_refused_not_a_500(server: str, url: str) -> None:
    """Found by the fuzzing (``GET /api/formats?url= HTTP://[``, ``...url=htTP://%00``): with
    private networks off (the default), ``netguard.check_url`` lets a ``ValueError`` escape:
    from ``urlsplit`` ("Invalid IPv6 URL") and from ``socket.inet_aton`` in ``_literal_host``
    ("embedded null character", which only ``OSError`` is caught for)."""
    with httpx.Client(base_url=server, timeout=10) as client:
        answers = {
            "POST /api/downloads": client.post("/api/downloads", json={"url": url}),
            "POST /api/url-info": client.post("/api/url-info", json={"url": url}),
            "GET /api/formats": client.get("/api/formats", params={"url": url}),
        }
    # Refused (400, 422), or for a host with a NUL also taken as a job that will fail: no 5xx.
    wrong = {what: r.status_code for what, r in answers.items() if r.status_code >= 500}
    assert not wrong, wrong


def test_a_session_id_that_is_not_ascii_is_a_404_not_a_500(tmp_path: Path) -> None:
    """Found by the ``keyed-admin`` run: ``GET /api/admin/sessions/%C3%A9/jobs`` was a 500
    once any session existed (``hmac.compare_digest`` refuses non-ASCII strings)."""
    with mediarip_process(tmp_path, KEYED) as base, httpx.Client(base_url=base) as client:
        client.get("/api/config/public")  # a session exists
        client.cookies.set("mrip_admin", admin_cookie(base), path="/api/admin")
        for session_id in ("%C3%A9", "p%F0%95%8C%9B%07", "0123456789abcdef"):
            response = client.get(f"/api/admin/sessions/{session_id}/jobs")
            assert response.status_code == 404, (session_id, response.text)
            assert response.json()["error"]["code"] == "session_not_found"


def test_retrying_a_job_the_moment_it_fails_does_not_stop_the_server(tmp_path: Path) -> None:
    """Found by the ``keyed-admin`` run's stateful phase ("Server Unavailable"): a retry that
    lands after a job is marked failed but before its task has unwound starts a second run
    under the same id; the first run's ``finally`` then deletes the second's entry from
    ``DownloadService._runs``, and the second's ``del`` raises ``KeyError`` out of the service's
    nursery: the whole process exits. Any client can do this to its own job."""
    with mediarip_process(tmp_path, {}) as base, httpx.Client(base_url=base, timeout=10) as client:
        # It fails at once: the loopback proxy is refused.
        job = client.post("/api/downloads", json={"url": "https://example.invalid/x"}).json()
        deadline = time.monotonic() + 25
        retries = 0
        try:
            while retries < 100 and time.monotonic() < deadline:
                while client.get(f"/api/downloads/{job['id']}").json()["status"] != "failed":
                    pass
                assert client.post(f"/api/downloads/{job['id']}/retry").status_code == 200
                retries += 1
        except httpx.TransportError as exc:
            pytest.fail(f"the server went away after {retries} retries: {exc!r}")
        assert client.get("/api/health").status_code == 200
