"""The accounts' rows: users, their login sessions and their API keys (issue 14).

The SQL is the store's (:class:`mediarip.store.AccountsTable`, in ``store/_accounts.py``), like
every other query: one SQL layer for SQLite and PostgreSQL, one place for transactions and
storage errors. This module keeps the names the accounts service uses for those queries, and
the value classes, where the rules that use them can find them.
"""

from __future__ import annotations

from ..store import Store
from ..store._accounts import ApiKeyView, KeyRow, NameInUse, Role, Source, User, owner_of

__all__ = ["ApiKeyView", "KeyRow", "NameInUse", "Records", "Role", "Source", "User", "owner_of"]


class Records:
    """Every query of the accounts, each a checkpoint run in the store's thread."""

    def __init__(self, store: Store) -> None:
        self.count_users = store.count_users
        self.list_users = store.list_users
        self.get_user = store.get_user
        self.user_by_key = store.user_by_key
        self.insert_user = store.insert_user
        self.update_user = store.update_user
        self.delete_user = store.delete_user
        self.get_preferences = store.get_preferences
        self.set_preferences = store.set_preferences
        self.insert_session = store.insert_login_session
        self.session_user = store.login_session_user
        self.delete_session = store.delete_login_session
        self.count_sessions = store.count_login_sessions
        self.insert_key = store.insert_api_key
        self.list_keys = store.list_api_keys
        self.key_user = store.api_key_user
        self.key_used = store.api_key_used
        self.delete_key = store.delete_api_key
        self.insert_invite = store.insert_invite
        self.invite_valid = store.invite_valid
        self.redeem_invite = store.redeem_invite
        self.give_to = store.give_to
