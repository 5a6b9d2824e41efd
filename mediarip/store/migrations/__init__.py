"""Alembic's script directory for the store (run by :mod:`mediarip.store._migrate`, not by the
``alembic`` command): ``versions/`` holds one module per revision, oldest first by name.

A new revision: copy the newest file, give it the next number as ``revision`` and the newest's
as ``down_revision``, write ``upgrade`` with ``op`` calls that work on SQLite and PostgreSQL
(``op.batch_alter_table`` for SQLite's limited ALTER TABLE), and change :mod:`.._schema` to match.
"""
