"""The OpenAPI document is made from the app's real routes and their contracts: it cannot lack
an endpoint the server answers, nor describe one it does not, and a refusal an endpoint
declares is documented and answered the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from quart import Blueprint

from mediarip.api import create_app
from mediarip.api.contract import Answer, contract_of, endpoint
from mediarip.api.errors import REFUSALS, FileMissing, FileNotReady
from mediarip.api.openapi import api_routes, document
from tests.conftest import make_settings
from tests.support import RunningApp, running_app


async def test_the_document_lists_exactly_the_routes_the_app_serves(app: RunningApp) -> None:
    documented = (await app.client.get("/api/openapi.json")).json()["paths"]
    served = api_routes(create_app(app.handle.services))
    assert {p: set(m) for p, m in documented.items()} == {p: set(m) for p, m in served.items()}
    assert len(served) >= 25  # every blueprint's routes, not an empty table


async def test_every_api_route_declares_its_contract(app: RunningApp) -> None:
    routes = api_routes(create_app(app.handle.services))
    missing = [
        f"{method.upper()} {path}"
        for path, methods in routes.items()
        for method, view in methods.items()
        if contract_of(view) is None
    ]
    assert not missing, missing


async def test_a_route_without_a_contract_is_named_not_left_out(app: RunningApp) -> None:
    flask_like = create_app(app.handle.services)
    stray = Blueprint("stray", __name__)

    @stray.get("/api/stray/<thing>")
    async def undeclared(thing: str) -> str:
        return thing

    flask_like.register_blueprint(stray)
    with pytest.raises(LookupError, match=r"GET /api/stray/\{thing\} has no contract"):
        document(flask_like)


async def test_every_refusal_is_documented_under_its_status(app: RunningApp) -> None:
    doc = (await app.client.get("/api/openapi.json")).json()
    routes = api_routes(create_app(app.handle.services))
    for path, methods in routes.items():
        for method, view in methods.items():
            contract = contract_of(view)
            assert contract is not None
            responses = doc["paths"][path][method]["responses"]
            for kind in contract.refusals():
                status = str(REFUSALS[kind].status)
                assert status in responses, (method, path, kind.__name__)
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


@attrs.frozen
class _Thing:
    name: str = attrs.field(metadata={"json_schema": {"pattern": "^[a-z]+$"}})
    size: int = 1


async def test_one_declaration_gives_validation_document_and_refusals(tmp_path: Path) -> None:
    """What adding an endpoint costs: the handler and its contract, nothing else."""
    extra = Blueprint("extra", __name__)

    @extra.post("/api/things")
    @endpoint(
        "Make a thing",
        body=_Thing,
        answers={201: Answer("The thing", _Thing)},
        refuses=(FileNotReady, FileMissing),
    )
    async def make(body: _Thing) -> _Thing:
        if body.name == "early":
            raise FileNotReady("Not yet.")
        if body.name == "gone":
            raise FileMissing("It went.")
        return body

    async with running_app(make_settings(tmp_path)) as running:
        app = create_app(running.handle.services)
        app.register_blueprint(extra)
        operation: dict[str, Any] = document(app)["paths"]["/api/things"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/_Thing"
        }
        assert {"201", "400", "401", "403", "404", "409", "413", "422"} <= set(
            operation["responses"]
        )
        assert "The job has no file yet" in operation["responses"]["409"]["description"]

        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with (
            app.test_app(),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            made = await client.post("/api/things", json={"name": "box", "size": 3})
            assert made.status_code == 201 and made.json() == {"name": "box", "size": 3}
            wrong = await client.post("/api/things", json={"name": "box", "colour": "red"})
            assert wrong.status_code == 422
            assert wrong.json()["error"]["message"] == "unknown field(s): colour"
            early = await client.post("/api/things", json={"name": "early"})
            assert (early.status_code, early.json()["error"]["code"]) == (409, "not_ready")
            gone = await client.post("/api/things", json={"name": "gone"})
            assert (gone.status_code, gone.json()["error"]["code"]) == (404, "file_missing")
