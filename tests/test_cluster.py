"""Past one machine (issue 16): web nodes and workers as real processes on a real PostgreSQL.

Every process is ``python -m mediarip serve`` or ``python -m mediarip worker`` as an operator
starts it, configured by environment variables, all sharing one database (a fresh one per
test on the session's PostgreSQL) and one downloads folder; the media comes from the loopback
media server. Leases last 3 s here (15 by default), so a dead worker's jobs move on quickly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.media import MediaServer
from tests.postgres import Cluster

REPO_ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """One process of the cluster."""

    def __init__(self, name: str, command: str, env: dict[str, str], root: Path) -> None:
        self.name, self.command = name, command
        self.port = _free_port() if command != "worker" else None
        self.log_path = root / f"{name}.log"
        self.env = dict(env)
        if self.port is not None:
            self.env["MEDIARIP__SERVER__PORT"] = str(self.port)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediarip", *([self.command] if self.command else [])],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        ready = "is claiming jobs" if self.command == "worker" else "is listening on"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log()}")
            if ready in self.log():
                if self.port is None:
                    return
                try:
                    if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def claimed(self) -> list[str]:
        """The ids of the jobs this worker claimed, from its log."""
        ids: list[str] = []
        for found in re.findall(r"claimed \d+ job\(s\): ([^\n]+)", self.log()):
            ids += found.split()
        return ids

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)


class ClusterUnderTest:
    def __init__(self, root: Path, database_url: str, media: MediaServer) -> None:
        self.root, self.media = root, media
        self.downloads = root / "downloads"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP__")},
            "MEDIARIP__DATABASE__URL": database_url,
            "MEDIARIP__DATABASE__LEASE_SECONDS": str(LEASE_SECONDS),
            "MEDIARIP__SERVER__DATA_DIR": str(root / "data"),
            "MEDIARIP__DOWNLOADS__OUTPUT_DIR": str(self.downloads),
            "MEDIARIP__DOWNLOADS__ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIARIP__DOWNLOADS__MAX_JOBS_PER_MINUTE": "0",
            "MEDIARIP__SESSION__MODE": "shared",
        }
        self.nodes: list[Node] = []

    def start(self, *, web: int = 1, workers: int = 1, **env: str) -> list[Node]:
        names = [f"web{i + 1}" for i in range(web)] + [f"worker{i + 1}" for i in range(workers)]
        count = {n.name for n in self.nodes}
        started = []
        for name in names:
            while name in count:
                name += "b"
            node = Node(
                name,
                "serve" if name.startswith("web") else "worker",
                {**self.env, **env},
                self.root,
            )
            node.start()
            self.nodes.append(node)
            started.append(node)
            count.add(name)
        for node in started:
            node.wait_ready()
        return started

    def web(self) -> list[Node]:
        return [n for n in self.nodes if n.command == "serve"]

    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.command == "worker"]

    def stop_all(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()


@pytest.fixture
def cluster(tmp_path: Path, postgres: Cluster, media: MediaServer) -> Iterator[ClusterUnderTest]:
    under_test = ClusterUnderTest(tmp_path, postgres.new_database(), media)
    # Migrated once, before the processes start together (each would also do it, in turn).
    subprocess.run(
        [sys.executable, "-m", "mediarip", "db", "migrate"],
        env=under_test.env,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
    )
    try:
        yield under_test
    finally:
        under_test.stop_all()


def _submit(node: Node, url: str) -> str:
    response = httpx.post(f"{node.base}/api/downloads", json={"url": url}, timeout=15)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _job(node: Node, job_id: str) -> dict[str, Any]:
    response = httpx.get(f"{node.base}/api/downloads/{job_id}", timeout=15)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _wait(node: Node, job_id: str, statuses: set[str], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job = _job(node, job_id)
    while job["status"] not in statuses:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} never reached {statuses}: {job}")
        time.sleep(0.1)
        job = _job(node, job_id)
    return job


class EventLog:
    """An event stream read in a thread: every ``job_update``'s job, in order of arrival."""

    def __init__(self, node: Node) -> None:
        self.updates: list[dict[str, Any]] = []
        #: The name of every event, in order.
        self.names: list[str] = []
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(node,), daemon=True)
        self._thread.start()
        assert self._connected.wait(15), "the event stream did not open"

    def _read(self, node: Node) -> None:
        # An error: the node went away (the test killed it, or the test is over).
        with contextlib.suppress(httpx.HTTPError):
            self._read_until_closed(node)

    def _read_until_closed(self, node: Node) -> None:
        with httpx.stream("GET", f"{node.base}/api/events", timeout=None) as response:
            self._connected.set()
            event = ""
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                    self.names.append(event)
                elif line.startswith("data:") and event == "job_update":
                    self.updates.append(json.loads(line[5:])["job"])

    def of(self, job_id: str) -> list[dict[str, Any]]:
        return [u for u in list(self.updates) if u.get("id") == job_id]

    def close(self) -> None:
        self._stop.set()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_jobs_queued_on_one_web_node_run_once_spread_over_the_workers_and_show_on_another(
    cluster: ClusterUnderTest,
) -> None:
    """Two web nodes, three workers, 30 throttled jobs: every job runs on exactly one worker,
    the work is spread, and a stream on node A shows the progress of jobs node B queued."""
    web_a, web_b = cluster.start(web=2, workers=0)
    workers = cluster.start(web=0, workers=3, MEDIARIP__DOWNLOADS__MAX_CONCURRENT="3")
    events = EventLog(web_a)
    try:
        media = cluster.media
        ids = [_submit(web_b, media.url(f"/slow/100000/video.mp4?n={n}")) for n in range(30)]
        for job_id in ids:
            assert _wait(web_a, job_id, {"completed", "failed"})["status"] == "completed"
    finally:
        events.close()
    claims = [job_id for worker in workers for job_id in worker.claimed()]
    assert sorted(claims) == sorted(ids), "every job claimed once, by one worker"
    assert sum(1 for worker in workers if worker.claimed()) >= 2, "the work is spread"
    expected = _sha256(cluster.media.media_dir / "video.mp4")
    files = [p for p in cluster.downloads.iterdir() if p.is_file()]
    assert len(files) == 30
    assert {_sha256(p) for p in files} == {expected}
    # node A heard of node B's jobs: their progress while running, then their completion
    for job_id in ids:
        seen = events.of(job_id)
        assert any(u.get("status") == "completed" for u in seen), job_id
    moving = [u for job_id in ids for u in events.of(job_id) if 0 < (u.get("progress") or 0) < 100]
    assert moving, "progress of jobs running on the workers reached node A's stream"


def test_cancel_on_one_web_node_stops_the_job_on_its_worker(cluster: ClusterUnderTest) -> None:
    web_a, web_b = cluster.start(web=2, workers=0)
    (worker,) = cluster.start(web=0, workers=1)
    job_id = _submit(web_b, cluster.media.url("/slow/300000/big.mp4"))
    _wait(web_a, job_id, {"downloading"})
    time.sleep(0.5)
    partial = cluster.downloads / ".mediarip-partial" / job_id
    assert partial.exists()
    started = time.monotonic()
    response = httpx.post(f"{web_a.base}/api/downloads/{job_id}/cancel", timeout=30)
    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert not partial.exists(), "the answer comes once the worker has removed the partial files"
    assert took < 2.0, took
    assert job_id in worker.claimed()
    assert f"job {job_id} cancelled" in worker.log()
    assert _job(web_b, job_id)["status"] == "cancelled"


def test_a_job_no_worker_has_claimed_is_cancelled_by_the_web_node(
    cluster: ClusterUnderTest,
) -> None:
    (web,) = cluster.start(web=1, workers=0)
    job_id = _submit(web, cluster.media.url("/media/video.mp4"))
    response = httpx.post(f"{web.base}/api/downloads/{job_id}/cancel", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    # a worker that starts now finds nothing to do
    (worker,) = cluster.start(web=0, workers=1)
    time.sleep(1.5)
    assert worker.claimed() == []
    assert _job(web, job_id)["status"] == "cancelled"


def test_a_killed_worker_s_job_is_resumed_by_another_from_its_partial_file(
    cluster: ClusterUnderTest,
) -> None:
    (web,) = cluster.start(web=1, workers=0)
    first, second = cluster.start(web=0, workers=2, MEDIARIP__DOWNLOADS__MAX_CONCURRENT="1")
    job_id = _submit(web, cluster.media.url("/slow/1000000/big.mp4"))
    deadline = time.monotonic() + 30
    while (_job(web, job_id).get("progress") or 0) < 20:
        assert time.monotonic() < deadline, _job(web, job_id)
        time.sleep(0.1)
    holder, other = (first, second) if job_id in first.claimed() else (second, first)
    assert job_id in holder.claimed()
    httpx.get(cluster.media.url("/_requests?clear"), timeout=5)
    holder.signal(signal.SIGKILL)
    holder.wait()
    done = _wait(web, job_id, {"completed", "failed"}, timeout=60)
    assert done["status"] == "completed", done
    assert job_id in other.claimed(), "the other worker took the job over"
    path = cluster.downloads / str(done["filename"])
    assert _sha256(path) == _sha256(cluster.media.media_dir / "big.mp4")
    requests = httpx.get(cluster.media.url("/_requests"), timeout=5).json()
    ranges = [r["headers"].get("Range", "") for r in requests if r["path"].endswith("big.mp4")]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges


def test_a_worker_stopped_with_sigterm_hands_its_jobs_over_at_once(
    cluster: ClusterUnderTest,
) -> None:
    """Its leases are given up on the way out: the other worker need not wait for them to run
    out (the lease is 30 s here; the handover must take far less)."""
    lease = {"MEDIARIP__DATABASE__LEASE_SECONDS": "30", "MEDIARIP__DOWNLOADS__MAX_CONCURRENT": "1"}
    (web,) = cluster.start(web=1, workers=0, **lease)
    (first,) = cluster.start(web=0, workers=1, **lease)
    job_id = _submit(web, cluster.media.url("/slow/1000000/big.mp4"))
    _wait(web, job_id, {"downloading"})
    (second,) = cluster.start(web=0, workers=1, **lease)
    stopped = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    deadline = time.monotonic() + 10
    while job_id not in second.claimed():
        assert time.monotonic() < deadline, second.log()
        time.sleep(0.1)
    assert time.monotonic() - stopped < 10
    assert _wait(web, job_id, {"completed", "failed"}, timeout=60)["status"] == "completed"


def test_postgresql_restarted_mid_run_nodes_reconnect_and_nothing_is_lost(
    cluster: ClusterUnderTest, postgres: Cluster
) -> None:
    (web,) = cluster.start(web=1, workers=0)
    cluster.start(web=0, workers=2, MEDIARIP__DOWNLOADS__MAX_CONCURRENT="2")
    ids = [_submit(web, cluster.media.url(f"/slow/1500000/big.mp4?n={n}")) for n in range(4)]
    for job_id in ids:
        _wait(web, job_id, {"downloading"})
    postgres.restart()
    for job_id in ids:
        assert _wait(web, job_id, {"completed", "failed"}, timeout=90)["status"] == "completed"
    assert httpx.get(f"{web.base}/api/health", timeout=5).status_code == 200
    # a job queued after the restart runs too: the web node and the workers are connected
    late = _submit(web, cluster.media.url("/media/video.mp4"))
    assert _wait(web, late, {"completed", "failed"})["status"] == "completed"
    assert "listener is connected again" in web.log()


def test_a_killed_web_node_leaves_the_other_s_streams_and_leadership_follows(
    cluster: ClusterUnderTest,
) -> None:
    web_a, web_b = cluster.start(web=2, workers=1)[:2]
    deadline = time.monotonic() + 10
    while not any("is now the cluster's leader" in n.log() for n in (web_a, web_b)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    leader, follower = (web_a, web_b) if "is now the cluster's" in web_a.log() else (web_b, web_a)
    events = EventLog(follower)
    try:
        job_id = _submit(leader, cluster.media.url("/slow/1000000/big.mp4"))
        _wait(follower, job_id, {"downloading"})
        leader.signal(signal.SIGKILL)
        leader.wait()
        assert _wait(follower, job_id, {"completed", "failed"})["status"] == "completed"
        deadline = time.monotonic() + 10
        while not any(u.get("status") == "completed" for u in events.of(job_id)):
            assert time.monotonic() < deadline, events.of(job_id)
            time.sleep(0.1)
    finally:
        events.close()
    deadline = time.monotonic() + 15
    while "is now the cluster's leader" not in follower.log():
        assert time.monotonic() < deadline, "leadership did not follow"
        time.sleep(0.1)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_sqlite_with_a_message(tmp_path: Path, command: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIARIP__")}
    env["MEDIARIP__SERVER__DATA_DIR"] = str(tmp_path / "data")
    env["MEDIARIP__SERVER__PORT"] = str(_free_port())
    done = subprocess.run(
        [sys.executable, "-m", "mediarip", command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"mediarip {command} needs PostgreSQL" in done.stderr.decode()


def test_a_playlist_runs_on_one_worker_which_keeps_its_tally(cluster: ClusterUnderTest) -> None:
    """The worker that expands a playlist leases its items before storing them: no other
    worker takes one, and the playlist's own status follows its items."""
    (web,) = cluster.start(web=1, workers=0)
    workers = cluster.start(web=0, workers=2)
    parent = _submit(web, cluster.media.url("/page.html"))
    done = _wait(web, parent, {"completed", "failed"})
    assert done["status"] == "completed", done
    children = httpx.get(f"{web.base}/api/downloads", timeout=15).json()["jobs"]
    items = [job for job in children if job.get("parent_id") == parent]
    assert len(items) == 2, children  # /page.html holds two videos
    holders = [w for w in workers if parent in w.claimed()]
    assert len(holders) == 1
    for item in items:
        assert item["status"] == "completed", item
        assert not any(item["id"] in w.claimed() for w in workers if w is not holders[0])


ADMIN_PASSWORD = "a long cluster password"


def _admin(node: Node) -> httpx.Client:
    """A client logged in to ``node``'s admin panel."""
    client = httpx.Client(base_url=node.base, timeout=15)
    response = client.post(
        "/api/admin/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    csrf = client.cookies.get("mrip_csrf")
    if csrf:
        client.headers["X-CSRF-Token"] = csrf
    return client


def test_settings_changed_on_one_web_node_reach_the_others_and_the_workers(
    cluster: ClusterUnderTest,
) -> None:
    admin = {"MEDIARIP__ADMIN__PASSWORD": ADMIN_PASSWORD}
    web_a, web_b = cluster.start(web=2, workers=0, **admin)
    (worker,) = cluster.start(web=0, workers=1, **admin)
    a, b = _admin(web_a), _admin(web_b)
    try:
        changed = a.patch("/api/admin/settings", json={"downloads.max_concurrent": 1})
        assert changed.status_code == 200, changed.text
        deadline = time.monotonic() + 10
        while True:
            shown = b.get("/api/admin/settings").json()["settings"]
            value = shown["downloads.max_concurrent"]["value"]
            if value == 1:
                break
            assert time.monotonic() < deadline, shown
            time.sleep(0.1)
    finally:
        a.close()
        b.close()
    # the worker runs one job at a time now (once it has read the settings again)
    deadline = time.monotonic() + 10
    while "settings changed by another process: downloads.max_concurrent" not in worker.log():
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    ids = [_submit(web_a, cluster.media.url(f"/slow/1000000/big.mp4?n={n}")) for n in range(3)]
    _wait(web_a, ids[0], {"downloading"})
    time.sleep(1.5)
    states = [_job(web_a, job_id)["status"] for job_id in ids]
    assert states.count("downloading") == 1, states
    for job_id in ids:
        httpx.post(f"{web_a.base}/api/downloads/{job_id}/cancel", timeout=30)


def test_a_finished_job_is_notified_once_by_the_leader(
    cluster: ClusterUnderTest, postgres: Cluster
) -> None:
    from tests.receiver import Receiver

    receiver = Receiver()
    receiver.thread.start()
    try:
        _create_webhook_target(cluster.env["MEDIARIP__DATABASE__URL"], receiver.url)
        web_a, web_b = cluster.start(web=2, workers=1)[:2]
        job_id = _submit(web_b, cluster.media.url("/media/video.mp4"))
        assert _wait(web_a, job_id, {"completed", "failed"})["status"] == "completed"
        deadline = time.monotonic() + 10
        while not receiver.received:
            assert time.monotonic() < deadline, "no notification"
            time.sleep(0.1)
        time.sleep(2)  # room for a second one, if a second node were to send it
        bodies = [json.loads(r.body) for r in receiver.received]
        assert len(bodies) == 1, bodies
        assert job_id in json.dumps(bodies[0])
    finally:
        receiver.server.shutdown()


def _create_webhook_target(database_url: str, url: str) -> None:
    """A webhook target made through the notifier, on the cluster's database."""
    import trio

    from mediarip.notifications.models import NewTarget, TargetKind
    from mediarip.notifications.notifier import Notifications
    from mediarip.store import Store

    async def create() -> None:
        async with Store.open(database_url) as store:
            await Notifications(store).create(
                NewTarget(name="hook", kind=TargetKind.WEBHOOK, url=url)
            )

    trio.run(create)


def _exits_refused(cluster: ClusterUnderTest, command: str) -> str:
    node = Node(f"refused-{command or 'single'}", command, cluster.env, cluster.root)
    node.start()
    assert node.wait(timeout=60) == 2, node.log()
    return node.log()


def test_a_single_mediarip_and_a_cluster_never_share_a_database(
    cluster: ClusterUnderTest,
) -> None:
    """A plain mediarip runs every job in the database as its own: beside workers it would
    run jobs twice. Whichever comes second is refused, with what to do."""
    (worker,) = cluster.start(web=0, workers=1)
    assert "used by another mediarip or by a cluster" in _exits_refused(cluster, "")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    single = Node("single", "", cluster.env, cluster.root)
    single.start()
    cluster.nodes.append(single)
    single.wait_ready()
    assert "used by a single mediarip" in _exits_refused(cluster, "worker")
    assert "used by a single mediarip" in _exits_refused(cluster, "serve")
    assert "used by another mediarip" in _exits_refused(cluster, "")
    job_id = _submit(single, cluster.media.url("/media/video.mp4"))
    assert _wait(single, job_id, {"completed", "failed"})["status"] == "completed"


def _leader_and_follower(web_a: Node, web_b: Node) -> tuple[Node, Node]:
    deadline = time.monotonic() + 15
    while True:
        for node, other in ((web_a, web_b), (web_b, web_a)):
            if "is now the cluster's leader" in node.log():
                return node, other
        assert time.monotonic() < deadline, "no leader"
        time.sleep(0.1)


def test_a_subscription_made_on_a_follower_is_checked_by_the_leader_and_on_demand(
    cluster: ClusterUnderTest,
) -> None:
    """The leader runs the schedule (it hears of the new subscription from the follower);
    "check now" on the follower checks there; every node's stream hears of the checks."""
    import datetime as dt
    import urllib.parse

    web_a, web_b = cluster.start(web=2, workers=1)[:2]
    leader, follower = _leader_and_follower(web_a, web_b)
    channel = f"cluster-{os.getpid()}-{time.monotonic_ns()}"
    old = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).timestamp())

    def add(title: str, published: int) -> None:
        query = urllib.parse.urlencode({"title": title, "published": published})
        httpx.get(cluster.media.url(f"/channel/{channel}/add?{query}"), timeout=10)

    add("first", old)
    add("second", old + 60)
    events = EventLog(follower)
    try:
        created = httpx.post(
            f"{follower.base}/api/subscriptions",
            json={
                "url": cluster.media.url(f"/channel/{channel}.rss"),
                "first_check": "latest",
                "first_count": 2,
            },
            timeout=15,
        )
        assert created.status_code == 201, created.text
        sub_id = created.json()["id"]
        deadline = time.monotonic() + 30
        while True:
            sub = httpx.get(f"{follower.base}/api/subscriptions/{sub_id}", timeout=10).json()
            if sub["checks"] >= 1:
                break
            assert time.monotonic() < deadline, sub
            time.sleep(0.1)
        assert sub["failures"] == 0, sub
        # the first check ran on the leader; the follower's stream heard of it
        assert f"subscription {sub_id} " in leader.log()
        assert f"subscription {sub_id} " not in follower.log()
        deadline = time.monotonic() + 10
        while "subscription_checked" not in events.names:
            assert time.monotonic() < deadline, events.names
            time.sleep(0.1)
        jobs = [
            j
            for j in httpx.get(f"{follower.base}/api/downloads", timeout=10).json()["jobs"]
            if j.get("subscription_id") == sub_id
        ]
        assert len(jobs) == 2, jobs
        for job in jobs:
            assert _wait(follower, job["id"], {"completed", "failed"})["status"] == "completed"
        add("third", int(time.time()))
        checked = httpx.post(f"{follower.base}/api/subscriptions/{sub_id}/check", timeout=60)
        assert checked.status_code == 200, checked.text
        assert checked.json()["queued"] == 1, checked.json()
        assert f"subscription {sub_id} " in follower.log(), "check now ran on the follower"
    finally:
        events.close()


def test_a_disabled_users_streams_end_on_every_web_node(cluster: ClusterUnderTest) -> None:
    """Accounts (issue 14) in a cluster: the admin disables a user on node A; the stream the
    user has open on node B ends at once."""
    env = {"MEDIARIP__AUTH__MODE": "local", "MEDIARIP__ADMIN__PASSWORD": ADMIN_PASSWORD}
    web_a, web_b = cluster.start(web=2, workers=0, **env)
    admin = _admin(web_a)
    user = httpx.Client(base_url=web_b.base, timeout=15)
    try:
        made = admin.post(
            "/api/admin/users",
            json={"username": "alice", "password": "alice-password-1", "role": "user"},
        )
        assert made.status_code == 201, made.text
        user.get("/api/config/public")
        login = user.post(
            "/api/auth/login",
            json={"username": "alice", "password": "alice-password-1"},
            headers={"X-CSRF-Token": user.cookies.get("mrip_csrf") or ""},
        )
        assert login.status_code == 200, login.text
        ended = threading.Event()

        def watch() -> None:
            with contextlib.suppress(httpx.HTTPError), user.stream("GET", "/api/events") as events:
                for _ in events.iter_lines():
                    pass
            ended.set()

        threading.Thread(target=watch, daemon=True).start()
        time.sleep(1.0)
        assert not ended.is_set()
        disabled = admin.patch(f"/api/admin/users/{made.json()['id']}", json={"disabled": True})
        assert disabled.status_code == 200, disabled.text
        assert ended.wait(10), "the stream on the other node did not end"
    finally:
        admin.close()
        user.close()


def test_pause_start_and_delete_on_one_web_node_reach_the_worker(
    cluster: ClusterUnderTest,
) -> None:
    """Pause keeps the partial file, start resumes from it (on any worker), delete stops the
    worker's run and removes the job and its partial files; each answered on another node
    than the one that queued the job, while a worker runs it."""
    web_a, web_b = cluster.start(web=2, workers=0)
    cluster.start(web=0, workers=1, MEDIARIP__DOWNLOADS__MAX_CONCURRENT="2")
    media = cluster.media
    paused_id = _submit(web_b, media.url("/slow/1000000/big.mp4?n=paused"))
    doomed_id = _submit(web_b, media.url("/slow/1000000/big.mp4?n=doomed"))
    for job_id in (paused_id, doomed_id):
        _wait(web_a, job_id, {"downloading"})
    time.sleep(0.5)
    paused = httpx.post(f"{web_a.base}/api/downloads/{paused_id}/pause", timeout=30)
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    partial = cluster.downloads / ".mediarip-partial" / paused_id
    assert partial.exists(), "a pause keeps the partial file"
    deleted = httpx.delete(f"{web_a.base}/api/downloads/{doomed_id}", timeout=30)
    assert deleted.status_code == 204, deleted.text
    assert httpx.get(f"{web_b.base}/api/downloads/{doomed_id}", timeout=10).status_code == 404
    assert not (cluster.downloads / ".mediarip-partial" / doomed_id).exists()
    httpx.get(media.url("/_requests?clear"), timeout=5)
    started = httpx.post(f"{web_b.base}/api/downloads/{paused_id}/start", timeout=30)
    assert started.status_code == 200, started.text
    done = _wait(web_a, paused_id, {"completed", "failed"})
    assert done["status"] == "completed", done
    assert _sha256(cluster.downloads / done["filename"]) == _sha256(media.media_dir / "big.mp4")
    requests = httpx.get(media.url("/_requests"), timeout=5).json()
    ranges = [r["headers"].get("Range", "") for r in requests if "paused" in r["path"]]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges
