"""The schema of the store as the pre-Alembic chain left it at ``user_version`` 7.

Revision ID: 0001
Revises: (none)

A SQLite database made before Alembic is stamped with this revision instead of running it
(:mod:`mediarip.store._migrate`). The tables are created from :mod:`mediarip.store._schema`,
those of version 7 only (:data:`VERSION_7_TABLES`): later revisions add theirs. None has
changed a version-7 table yet; tests/test_store_migrations.py checks that a database built
here matches one built by the old chain, so the day one does, that test fails until this
revision is given a frozen copy of version 7's tables.
"""

from __future__ import annotations

from alembic import op

from mediarip.store._schema import SEEDED_PRESETS, metadata, presets

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


#: The tables version 7 had (those revisions after this one add are not made here).
VERSION_7_TABLES = (
    "jobs",
    "sessions",
    "meta",
    "setting_overrides",
    "admin_sessions",
    "error_log",
    "archive",
    "subscriptions",
    "subscription_seen",
    "subscription_checks",
    "presets",
    "notification_targets",
    "users",
    "user_sessions",
    "user_keys",
    "user_invites",
)


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in VERSION_7_TABLES])
    op.bulk_insert(presets, list(SEEDED_PRESETS))
    if bind.dialect.name == "sqlite":
        # SQLite-only: the old chain's counter, so a mediarip from before Alembic opening this
        # database sees version 7 (what it is) rather than an empty one to build.
        op.execute("PRAGMA user_version = 7")


def downgrade() -> None:
    metadata.drop_all(op.get_bind(), tables=[metadata.tables[name] for name in VERSION_7_TABLES])
