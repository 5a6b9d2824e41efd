"""The revisions (Alembic ignores this file)."""
