"""``/api/admin/notifications``: the admin's notification targets, and "send a test".

A target is ``{name, kind: "webhook" | "apprise", url, secret? (webhook), events, enabled}``;
the rules live in :mod:`mediarip.notifications`. ``PATCH`` takes only the fields to change.
"""

from __future__ import annotations

from typing import Any

import attrs
from quart import Blueprint, Response

from ..notifications.models import EVENTS, Event, NewTarget, Target, TargetKind
from ..notifications.notifier import TargetNameTaken, TargetNotFound
from ..rules import rules
from .admin import ADMIN
from .body import structure_model
from .context import services
from .contract import Answer, endpoint

__all__ = ["blueprint"]

blueprint = Blueprint("notifications", __name__, url_prefix="/api/admin/notifications")


@attrs.frozen
class TargetList:
    targets: list[Target]
    events: list[Event] = attrs.field(metadata=rules(description="the events a target may ask for"))


@attrs.frozen
class TargetChange:
    """A target's fields to change (``PATCH``); the others keep their values."""

    name: str | None = None
    kind: TargetKind | None = None
    url: str | None = None
    secret: str | None = None
    events: list[Event] | None = None
    enabled: bool | None = None


@attrs.frozen
class TestResult:
    delivered: bool
    attempts: int
    error: str | None = attrs.field(metadata=rules(description="what went wrong, if it did"))


@blueprint.get("")
@endpoint(
    "The notification targets",
    answers={200: Answer("Targets", TargetList)},
    requires=ADMIN,
)
async def list_targets() -> TargetList:
    return TargetList(await services().notifications.list(), list(EVENTS))


@blueprint.post("")
@endpoint(
    "Add a notification target",
    body=NewTarget,
    answers={201: Answer("The target (a webhook's secret made if none was given)", Target)},
    refuses=(TargetNameTaken,),
    requires=ADMIN,
)
async def create_target(body: NewTarget) -> Target:
    return await services().notifications.create(body)


@blueprint.patch("/<target_id>")
@endpoint(
    "Change some of a notification target's fields",
    body=TargetChange,
    raw_body=True,
    answers={200: Answer("The target", Target)},
    refuses=(TargetNotFound, TargetNameTaken),
    requires=ADMIN,
)
async def update_target(target_id: str, body: dict[str, Any]) -> Target:
    notifications = services().notifications
    current = await notifications.get(target_id)
    fields: dict[str, Any] = {
        "name": current.name,
        "kind": current.kind.value,
        "url": current.url,
        "events": [event.value for event in current.events],
        "enabled": current.enabled,
    }
    kind = body.get("kind", current.kind.value)
    if kind == TargetKind.WEBHOOK.value and current.kind is TargetKind.WEBHOOK:
        fields["secret"] = current.secret
    fields.update({k: v for k, v in body.items() if v is not None})
    return await notifications.update(target_id, structure_model(fields, NewTarget))


@blueprint.delete("/<target_id>")
@endpoint(
    "Delete a notification target",
    answers={204: Answer("Deleted")},
    refuses=(TargetNotFound,),
    requires=ADMIN,
)
async def delete_target(target_id: str) -> Response:
    await services().notifications.delete(target_id)
    return Response(b"", status=204)


@blueprint.post("/<target_id>/test")
@endpoint(
    "Send a test message to a target now (one try; a failure also goes to the error log)",
    answers={200: Answer("How it went", TestResult)},
    refuses=(TargetNotFound,),
    requires=ADMIN,
)
async def test_target(target_id: str) -> TestResult:
    result = await services().notifications.test(target_id)
    return TestResult(result.delivered, result.attempts, result.error)
