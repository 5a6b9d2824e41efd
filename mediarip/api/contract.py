"""An endpoint's contract, declared once at its handler.

The contract says what the endpoint takes (a JSON body, query parameters), what it answers by
status, and which refusals it can answer with. Everything else follows from it: the body and
query are read and validated from the same classes (a 422 naming the field), a refusal raised
anywhere below is answered by the one table in :mod:`.errors`, and ``/api/openapi.json`` is
made from the app's real routes and their contracts (:mod:`.openapi`), so the document cannot
lack a route or describe one that is not there.

How to add an endpoint (say, ``POST /api/things`` with a body and two refusals)::

    @blueprint.post("/api/things")
    @endpoint(
        "Make a thing",
        body=NewThing,                        # an attrs class; its field rules are the schema's
        answers={201: Answer("The thing, made", Thing)},
        refuses=(ThingExists, QuotaFull),     # exceptions with a row in errors.REFUSALS
    )
    async def make(body: NewThing) -> Thing:
        return await services().things.make(body)

The handler gets ``body`` (and ``query``, for ``query=``) as keyword arguments next to the
path's parameters. It returns a value (encoded with the one converter, under the first 2xx
status declared) or a ready :class:`~quart.Response` (a cached body, a file, a stream).
Checks that some endpoints share (the admin login, the job-creation rate) are
:class:`Requirement` objects named in ``requires=``: they run before the handler, and the
refusals they can raise are documented with the endpoint's own. The guard's checks (API key,
cross-site) and body reading's (400, 413) apply to every endpoint and are documented for
every one by :mod:`.openapi`. A route under ``/api`` without a contract fails
``tests/test_openapi.py`` and makes ``/api/openapi.json`` a 500 naming it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from quart import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..models import Job, converter, job_to_api
from .body import read_json, read_model, read_query
from .errors import EmptyBody, InvalidJson, InvalidRequest

__all__ = ["Answer", "Contract", "Requirement", "contract_of", "endpoint", "json_response"]

JSON = "application/json"


@attrs.frozen
class Answer:
    """One answer of an endpoint: what it means, and the type of its body (None: no body)."""

    description: str
    schema: Any = None
    media: tuple[str, ...] = (JSON,)


@attrs.frozen
class Requirement:
    """A check run before some endpoints' handlers; it raises one of ``refuses``."""

    name: str
    check: Callable[[], Awaitable[None]]
    refuses: tuple[type[Exception], ...]


@attrs.frozen
class Contract:
    summary: str
    answers: Mapping[int, Answer]
    body: Any = None
    body_media: str = JSON
    query: type | None = None
    refuses: tuple[type[Exception], ...] = ()
    requires: tuple[Requirement, ...] = ()
    #: False: a request without a body gets the body class's defaults (every field optional).
    body_required: bool = True
    #: The handler gets the body as a plain JSON object (it structures it itself, e.g. after
    #: applying a preset); the document still shows ``body``'s schema.
    raw_body: bool = False

    @property
    def success(self) -> int:
        return min(status for status in self.answers if 200 <= status < 300)

    def refusals(self) -> tuple[type[Exception], ...]:
        """Everything the endpoint's requests can be refused with, but the guard's."""
        found: list[type[Exception]] = [k for r in self.requires for k in r.refuses]
        if self.body is not None:
            found.append(RequestEntityTooLarge)
            if self.body_media == JSON:
                found += [EmptyBody, InvalidJson]
        if self.body is not None or self.query is not None:
            found.append(InvalidRequest)
        return tuple(dict.fromkeys([*found, *self.refuses]))


def endpoint(
    summary: str,
    *,
    answers: Mapping[int, Answer],
    body: Any = None,
    body_media: str = JSON,
    query: type | None = None,
    refuses: tuple[type[Exception], ...] = (),
    requires: tuple[Requirement, ...] = (),
    body_required: bool = True,
    raw_body: bool = False,
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Response]]]:
    """Declare a handler's contract; the returned handler reads and checks what it declares."""
    contract = Contract(
        summary, answers, body, body_media, query, refuses, requires, body_required, raw_body
    )

    def decorate(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def run(**arguments: Any) -> Response:
            for requirement in contract.requires:
                await requirement.check()
            if contract.body is dict or contract.raw_body:
                arguments["body"] = await read_json()
            elif contract.body is not None and contract.body_media == JSON:
                arguments["body"] = (
                    await read_model(contract.body)
                    if contract.body_required or await _has_body()
                    else contract.body()
                )
            if contract.query is not None:
                arguments["query"] = read_query(contract.query)
            result = await handler(**arguments)
            if isinstance(result, Response):
                return result
            return json_response(result, contract.success)

        run.__contract__ = contract  # type: ignore[attr-defined]
        return run

    return decorate


async def _has_body() -> bool:
    return bool((await request.get_data(cache=True, as_text=False, parse_form_data=False)).strip())


def contract_of(view: Callable[..., Any]) -> Contract | None:
    found = getattr(view, "__contract__", None)
    return found if isinstance(found, Contract) else None


# Answers use the one converter; a Job shows only its public fields.
_answers = converter.copy()
_answers.register_unstructure_hook(Job, job_to_api)


def json_response(value: object, status: int = 200) -> Response:
    """A value as a JSON answer (attrs models through the one converter)."""
    body = json.dumps(_answers.unstructure(value))
    return Response(body, status=status, content_type=JSON)
