"""``/api/admin/users``: the admin's users page (issue 14). Admin login required, like the
rest of the admin side; in ``auth.mode: none`` every path is a 404 (there are no users).

Besides the contract's create, list, change and delete: a user's API keys (list, revoke), and
giving anonymous sessions' jobs to a user, which switching an install from ``none`` to
``local`` offers (``POST /api/admin/users/{id}/adopt``).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import attrs
from quart import Blueprint, Response

from ..accounts import KeyNotFound, LastAdmin, UsernameTaken, UserNotFound
from ..auth import CredentialsRejected
from .admin import ADMIN
from .auth_routes import ACCOUNTS_ON, KeyList, UserView, key_view, user_view
from .context import services
from .contract import Answer, endpoint
from .errors import LoginNotHere

__all__ = ["blueprint"]

blueprint = Blueprint("users", __name__, url_prefix="/api/admin/users")

_GATE = (*ADMIN, ACCOUNTS_ON)


@attrs.frozen
class UserList:
    users: list[UserView]


@attrs.frozen
class NewUser:
    """``password`` may be left out in proxy mode (the proxy checks it)."""

    username: str
    password: str | None = None
    role: Literal["user", "admin"] = "user"


@attrs.frozen
class UserChange:
    """Only the fields given change; a new password or disabling ends the user's logins."""

    username: str | None = None
    password: str | None = None
    role: Literal["user", "admin"] | None = None
    disabled: bool | None = None


@attrs.frozen
class Adopt:
    """Which anonymous sessions' jobs to give; null: every anonymous session's."""

    session_ids: list[str] | None = None


@attrs.frozen
class Adopted:
    """How many finished or paused jobs changed hands (running ones stay where they are)."""

    moved: int


def _id(user_id: str) -> int:
    if not user_id.isdigit() or len(user_id) > 18:
        raise UserNotFound("No such user.")
    return int(user_id)


@attrs.frozen
class NewInvite:
    """The role the invited person gets."""

    role: Literal["user", "admin"] = "user"


@attrs.frozen
class InviteMade:
    """The link to hand on (shown this once), good for one account until ``expires_at``."""

    invite: str
    path: str
    role: str
    expires_at: dt.datetime


@blueprint.post("/invites")
@endpoint(
    "Make a one-time invite link (local mode; a week)",
    body=NewInvite,
    body_required=False,
    answers={201: Answer("The invite, shown this once", InviteMade)},
    refuses=(LoginNotHere,),
    requires=_GATE,
)
async def make_invite(body: NewInvite) -> InviteMade:
    accounts = services().accounts
    if accounts.mode != "local":
        raise LoginNotHere("In proxy mode the reverse proxy decides who may come in.")
    token, expires = await accounts.make_invite(body.role)
    return InviteMade(token, f"/register?invite={token}", body.role, expires)


@blueprint.get("")
@endpoint("Every user", answers={200: Answer("Users", UserList)}, requires=_GATE)
async def list_users() -> UserList:
    return UserList([user_view(u) for u in await services().accounts.users()])


@blueprint.post("")
@endpoint(
    "Make a user",
    body=NewUser,
    answers={201: Answer("The user", UserView)},
    refuses=(CredentialsRejected, UsernameTaken),
    requires=_GATE,
)
async def create_user(body: NewUser) -> UserView:
    accounts = services().accounts
    if body.password is None and accounts.mode == "local":
        raise CredentialsRejected("password: required")
    return user_view(await accounts.create_user(body.username, body.password, body.role))


@blueprint.patch("/<user_id>")
@endpoint(
    "Rename, reset the password, change the role, disable or enable a user",
    body=UserChange,
    answers={200: Answer("The user", UserView)},
    refuses=(UserNotFound, CredentialsRejected, UsernameTaken, LastAdmin),
    requires=_GATE,
)
async def change_user(user_id: str, body: UserChange) -> UserView:
    user = await services().accounts.update_user(
        _id(user_id),
        username=body.username,
        password=body.password,
        role=body.role,
        disabled=body.disabled,
    )
    return user_view(user)


@blueprint.delete("/<user_id>")
@endpoint(
    "Delete a user with their logins, keys, jobs and files",
    answers={204: Answer("Deleted")},
    refuses=(UserNotFound, LastAdmin),
    requires=_GATE,
)
async def delete_user(user_id: str) -> Response:
    await services().accounts.delete_user(_id(user_id))
    return Response(b"", status=204)


@blueprint.get("/<user_id>/keys")
@endpoint(
    "A user's API keys (masked)",
    answers={200: Answer("Keys", KeyList)},
    refuses=(UserNotFound,),
    requires=_GATE,
)
async def user_keys(user_id: str) -> KeyList:
    accounts = services().accounts
    user = await accounts.user(_id(user_id))
    return KeyList([key_view(k) for k in await accounts.keys(user)])


@blueprint.delete("/<user_id>/keys/<key_id>")
@endpoint(
    "Revoke a user's API key",
    answers={204: Answer("Revoked")},
    refuses=(UserNotFound, KeyNotFound),
    requires=_GATE,
)
async def revoke_user_key(user_id: str, key_id: str) -> Response:
    accounts = services().accounts
    await accounts.revoke_key(key_id, await accounts.user(_id(user_id)))
    return Response(b"", status=204)


@blueprint.post("/<user_id>/adopt")
@endpoint(
    "Give anonymous sessions' jobs to this user (after switching from auth.mode none)",
    body=Adopt,
    body_required=False,
    answers={200: Answer("How many jobs moved", Adopted)},
    refuses=(UserNotFound,),
    requires=_GATE,
)
async def adopt(user_id: str, body: Adopt) -> Adopted:
    return Adopted(await services().accounts.give_sessions(_id(user_id), body.session_ids))
