"""Packaging glue that pyproject.toml cannot express: the wheel carries the built web app.

Everything about the package is declared in pyproject.toml; this file only adds one step. A
wheel (or a plain install) gets the built SPA as ``mediarip/web_dist/`` so that a ``pip install``
serves the page with no Node on the machine (``mediarip.api.spa.find_web_dist`` looks there
first). The SPA is taken from ``web/dist``; when ``web/dist/index.html`` is missing it is built
with npm first (``npm ci`` when ``web/node_modules`` is missing, then ``npm run build``), and a
machine without npm gets a message that says what to do. An sdist carries ``web/dist`` too (see
MANIFEST.in), so a wheel built from it needs no Node either.

An editable install (``pip install -e .``) copies nothing: the app then serves ``web/dist`` from
the checkout, which ``./dev`` keeps built.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
WEB_DIST = WEB / "dist"
PACKAGE_DIST = Path("mediarip") / "web_dist"


class WebAppMissing(SystemExit):
    """Stops the build with a message instead of a traceback."""


def _say(message: str) -> None:
    print(f"mediarip build: {message}", file=sys.stderr, flush=True)


def _run(command: list[str]) -> None:
    _say("running " + " ".join(command) + " in web/")
    try:
        subprocess.run(command, cwd=WEB, check=True)
    except subprocess.CalledProcessError as exc:
        raise WebAppMissing(
            f"mediarip build: `{' '.join(command)}` failed in web/ (exit {exc.returncode})."
        ) from None


def ensure_web_dist() -> Path:
    """``web/dist`` with an ``index.html`` in it, building it with npm when it is missing."""
    if (WEB_DIST / "index.html").is_file():
        _warn_if_stale()
        return WEB_DIST
    if not (WEB / "package.json").is_file():
        raise WebAppMissing(
            "mediarip build: the built web app (web/dist/index.html) is missing and there are no "
            "web app sources (web/package.json) to build it from."
        )
    npm = shutil.which("npm")
    if npm is None:
        raise WebAppMissing(
            "mediarip build: the wheel carries the built web app, but web/dist/index.html is "
            "missing and npm was not found to build it. Install Node.js 20 and npm "
            "(https://nodejs.org, or apt-get install nodejs npm), or build it elsewhere with "
            "`cd web && npm ci && npm run build` and copy web/dist here."
        )
    if not (WEB / "node_modules").is_dir():
        _run([npm, "ci", "--no-audit", "--no-fund"])
    _run([npm, "run", "build"])
    if not (WEB_DIST / "index.html").is_file():
        raise WebAppMissing("mediarip build: `npm run build` made no web/dist/index.html.")
    return WEB_DIST


def _warn_if_stale() -> None:
    built = (WEB_DIST / "index.html").stat().st_mtime
    sources = [WEB / "index.html", WEB / "package.json", *WEB.glob("vite.config.*")]
    if (WEB / "src").is_dir():
        sources += [p for p in (WEB / "src").rglob("*") if p.is_file()]
    if any(p.is_file() and p.stat().st_mtime > built for p in sources):
        _say(
            "warning: web/ has sources newer than web/dist; the wheel gets the older build. "
            "Run `cd web && npm run build` (or ./dev) to refresh it."
        )


class BuildPyWithWebApp(build_py):
    """``build_py`` that also puts the built SPA in the build as ``mediarip/web_dist``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves web/dist from the checkout
        source = ensure_web_dist()
        target = Path(self.build_lib) / PACKAGE_DIST
        shutil.rmtree(target, ignore_errors=True)  # no stale hashed assets from an older build
        shutil.copytree(source, target)
        _say(f"copied the web app from {source.relative_to(ROOT)} into {target}")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        target = Path(self.build_lib) / PACKAGE_DIST
        if target.is_dir():
            outputs += [str(p) for p in sorted(target.rglob("*")) if p.is_file()]
        return outputs


class SdistWithWebApp(sdist):
    """``sdist`` that makes sure ``web/dist`` is built, so that MANIFEST.in can take it along."""

    def run(self) -> None:
        ensure_web_dist()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWebApp, "sdist": SdistWithWebApp})
