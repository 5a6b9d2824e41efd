"""A throwaway PostgreSQL cluster for the tests and the benchmark: ``initdb`` in a temporary
folder, the server on a free loopback port, one fresh database per test.

PostgreSQL refuses to run as root, and the tests often do (CI, containers): then the cluster
belongs to the ``postgres`` system user (Debian's package makes it) and every server command
goes through ``runuser``. The server listens on 127.0.0.1 only, trusts local connections (it
is nobody's but the tests', and gone when they end) and runs with ``fsync=off``: its data is
thrown away anyway, and the tests measure behaviour, not durability.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

__all__ = ["Cluster", "find_bin", "running_cluster"]

#: Databases made from it are migrated already: a test's first open runs no migration.
TEMPLATE = "mediarip_template"


def find_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: Debian keeps them per version, off PATH."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A running cluster; :meth:`new_database` gives each test its own database."""

    def __init__(self, root: Path, bin_dir: Path, user: str | None) -> None:
        self.root, self.bin, self.user = root, bin_dir, user
        self.port = _free_port()
        self._count = 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run(
            [*prefix, *command], check=True, capture_output=True, cwd=self.root, timeout=120
        )

    def start(self) -> None:
        data, sockets = self.root / "data", self.root / "sockets"
        sockets.mkdir()
        if self.user:
            shutil.chown(self.root, self.user)
            shutil.chown(sockets, self.user)
        self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        self._options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={sockets} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("start")

    def _pg_ctl(self, action: str) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-o", self._options, "-l",
            str(self.root / "server.log"), "-m", "fast", "-w", "-t", "60", action,
        )  # fmt: skip

    def restart(self) -> None:
        """Stop the server (every connection is cut) and start it again on the same port."""
        self._pg_ctl("restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                      "-w", "stop")  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """One statement outside a transaction (CREATE DATABASE needs that)."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def new_database(self, template: str = "template0") -> str:
        """A fresh, empty database's URL (from ``template``)."""
        self._count += 1
        name = f"test_{os.getpid()}_{self._count}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    """Start a cluster in a temporary folder; stop and remove it on exit. Raises
    FileNotFoundError when PostgreSQL is not installed."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise FileNotFoundError(
            "PostgreSQL is not installed: ./dev test installs it (apt-get install postgresql)"
        )
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="mediarip-pg-"))
    cluster = Cluster(root, bin_dir, user)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
