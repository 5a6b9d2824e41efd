"""Accounts (issue 14): an optional login in front of the app, and each person's queue on
every device. ``auth.mode: none`` (the default) uses none of this.

Public API::

    Accounts(settings, store, auth, broker, downloads)
    accounts.mode / active / setup_required() / ensure_first_admin()
    accounts.login(username, password, client) -> (token, User);  session_user(token); logout
    accounts.change_password(user, current, new, client) -> token
    accounts.proxy_user(username) -> User | None
    accounts.key_user(presented) / make_key(user, name) / keys(user) / revoke_key(id, user)
    accounts.users() / user(id) / create_user / update_user / delete_user / give_sessions
"""

from .names import check_name, name_key
from .records import ApiKeyView, Role, Source, User, owner_of
from .service import (
    Accounts,
    InviteInvalid,
    KeyNotFound,
    LastAdmin,
    NewKey,
    UsernameTaken,
    UserNotFound,
)

__all__ = [
    "Accounts",
    "ApiKeyView",
    "InviteInvalid",
    "KeyNotFound",
    "LastAdmin",
    "NewKey",
    "Role",
    "Source",
    "User",
    "UserNotFound",
    "UsernameTaken",
    "check_name",
    "name_key",
    "owner_of",
]
