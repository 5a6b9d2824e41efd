"""Helpers for the accounts tests (issue 14): a server in local or proxy mode, logging in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.conftest import make_settings
from tests.support import RunningApp, running_app

ADMIN = ("admin", "admin-password-1")


def local_settings(root: Path, env: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    return make_settings(
        root,
        {
            "MEDIARIP__AUTH__MODE": "local",
            "MEDIARIP__ADMIN__PASSWORD": ADMIN[1],
            **(env or {}),
        },
    )


@asynccontextmanager
async def local_app(root: Path, env: Mapping[str, str] | None = None) -> AsyncIterator[RunningApp]:
    async with running_app(local_settings(root, env)) as app:
        yield app


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Log ``client`` in as the web app does: with its page's session (and CSRF token), then
    sending its login's CSRF token."""
    if "mrip_session" not in client.cookies:
        await client.get("/api/config/public")
    headers = {"X-CSRF-Token": client.cookies.get("mrip_csrf") or ""}
    body = {"username": username, "password": password}
    response = await client.post("/api/auth/login", json=body, headers=headers)
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = client.cookies["mrip_csrf"]
    return response


@asynccontextmanager
async def user_client(
    app: RunningApp, username: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with app.new_client() as client:
        response = await log_in(client, username, password)
        assert response.status_code == 200, response.text
        yield client


async def make_user(
    admin: httpx.AsyncClient, username: str, password: str, role: str = "user"
) -> dict[str, object]:
    response = await admin.post(
        "/api/admin/users", json={"username": username, "password": password, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]
