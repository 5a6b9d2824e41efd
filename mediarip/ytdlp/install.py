"""Installing a yt-dlp release into the update folder with pip, and proving it imports.

pip runs as a child process of the running Python (``sys.executable -m pip``), so it installs
for exactly this interpreter, and with ``--target`` it writes only into a staging folder under
the data directory: the virtualenv, which may be read-only and owned by another user (the
container image), is never written to. ``--no-deps`` keeps the update to yt-dlp itself: its
optional helpers (certifi, websockets, ...) stay the ones the image was built and tested with.

The child gets a clean pip environment: no ``PIP_*`` variables and no pip configuration files
(``PIP_CONFIG_FILE=/dev/null``), so the index is the one ``ytdlp.index_url`` names and nothing
a machine-wide pip.conf adds; no ``MEDIARIP__*`` variables either (they may hold secrets). Its
temporary files and home go to ``<data_dir>/ytdlp/tmp``, the one place known to be writable.

Only a release that pip installed *and* that imports, loads its extractors and builds a
``YoutubeDL`` in a fresh interpreter is moved into place and named in ``active.json``; anything
less removes the staging folder and leaves the running yt-dlp as it was.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import trio
from packaging.version import InvalidVersion, Version

from .folder import STAGING_PREFIX, TMP, Choice, now_text, root, write_choice
from .index import pip_index_url

__all__ = ["InstallFailed", "install_release"]

PIP_TIMEOUT = 600.0
VERIFY_TIMEOUT = 120.0

# Run in a fresh interpreter (-I: no PYTHONPATH, no user site, no working folder on sys.path)
# with the staging folder first on sys.path.
_VERIFY = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import yt_dlp, yt_dlp.version
from yt_dlp.extractor import gen_extractor_classes
where = Path(yt_dlp.__file__).resolve()
if not where.is_relative_to(Path(sys.argv[1]).resolve()):
    raise SystemExit(f"yt_dlp was imported from {where}, not from the new folder")
count = len(list(gen_extractor_classes()))
yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True}).close()
print(yt_dlp.version.__version__, count)
"""


class InstallFailed(Exception):
    """The update did not happen; the message says why, for the admin."""


def _pip_environment(tmp: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("PIP_", "MEDIARIP", "PYTHON"))
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PYTHONNOUSERSITE="1",
        TMPDIR=str(tmp),
        HOME=str(tmp),
    )
    return env


def _pip_command(target: Path, version: str, index_url: str | None) -> list[str]:
    index = pip_index_url(index_url)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--progress-bar",
        "off",
        "--retries",
        "1",
        "--timeout",
        "20",
        "--target",
        str(target),
        "--index-url",
        index,
    ]
    split = urlsplit(index)
    if split.scheme == "http" and split.hostname:
        # The admin named this index; pip would otherwise ignore a plain-http one off loopback.
        command += ["--trusted-host", split.hostname]
    return [*command, f"yt-dlp=={version}"]


def _pip_error(lines: list[str]) -> str:
    errors = [line.removeprefix("ERROR: ").strip() for line in lines if line.startswith("ERROR")]
    if errors:
        return " ".join(errors)[:600]
    tail = [line.strip() for line in lines if line.strip()][-3:]
    return " ".join(tail)[:600] or "no output"


def _same_release(installed: str, wanted: str) -> bool:
    try:
        return Version(installed).release == Version(wanted).release
    except InvalidVersion:
        return installed == wanted


async def _run_pip(command: list[str], env: dict[str, str], on_line: Callable[[str], None]) -> None:
    lines: list[str] = []
    async with trio.open_nursery() as nursery:
        # Started this way, run_process hands back the process and still owns it: a cancel
        # (the server stopping) terminates pip, and the nursery waits for it to be gone.
        process: trio.Process = await nursery.start(
            functools.partial(
                trio.run_process,
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                check=False,
            )
        )
        assert process.stdout is not None
        pending = b""
        async for chunk in process.stdout:
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    lines.append(line)
                    on_line(line)
        if pending.strip():
            lines.append(pending.decode("utf-8", "replace").rstrip())
        await process.wait()
    if process.returncode != 0:
        raise InstallFailed(_pip_error(lines))


async def _verify(staging: Path, env: dict[str, str]) -> str:
    result = await trio.run_process(
        [sys.executable, "-I", "-c", _VERIFY, str(staging)],
        capture_stdout=True,
        capture_stderr=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        last = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
        raise InstallFailed(f"the installed yt-dlp does not work: {last[0][:400]}")
    return result.stdout.decode().split()[0]


async def install_release(
    data_dir: Path,
    version: str,
    *,
    index_url: str | None,
    channel: str,
    on_line: Callable[[str], None] = lambda line: None,
) -> Choice:
    """Install yt-dlp ``version`` into a new folder, check it, and make it the one the next
    start uses. :class:`InstallFailed` (nothing changed) when any step fails. Cancel-safe:
    a cancel stops pip and removes the staging folder."""
    base = root(data_dir)
    tmp = base / TMP
    token = secrets.token_hex(3)
    staging = base / f"{STAGING_PREFIX}{token}"
    try:
        await trio.Path(tmp).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InstallFailed(
            f"the data folder is not writable ({error.strerror}); the update needs "
            "<data folder>/ytdlp"
        ) from None
    env = _pip_environment(tmp)
    try:
        try:
            with trio.fail_after(PIP_TIMEOUT):
                await _run_pip(_pip_command(staging, version, index_url), env, on_line)
        except trio.TooSlowError:
            raise InstallFailed(f"pip did not finish within {PIP_TIMEOUT:.0f} s") from None
        except InstallFailed as failed:
            # No server paths in messages: pip names its temporary files under the data folder.
            said = str(failed).replace(str(base), "<data folder>/ytdlp")
            raise InstallFailed(f"pip could not install yt-dlp {version}: {said}") from None
        on_line(f"checking that yt-dlp {version} works")
        with trio.fail_after(VERIFY_TIMEOUT):
            installed = await _verify(staging, env)
        if not _same_release(installed, version):
            raise InstallFailed(f"asked for yt-dlp {version}, pip installed {installed}")
        final = base / f"{version}-{token}"
        await trio.Path(staging).rename(final)
        choice = Choice(
            folder=final.name, version=installed, channel=channel, installed_at=now_text()
        )
        await trio.to_thread.run_sync(write_choice, data_dir, choice)
        return choice
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(shutil.rmtree, staging, True)
