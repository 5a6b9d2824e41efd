"""Job leases: which worker runs which job, for as long as it keeps renewing (issue 16).

Revision ID: 0002
Revises: 0001

A table of its own rather than columns on ``jobs``: the single-box server never writes it,
and a job's row is not rewritten every few seconds by each renewal. The declaration is copied
here as it was made, so this revision builds the same table whatever ``_schema`` becomes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job_id", sa.Text(), primary_key=True),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("expires", sa.Float().with_variant(sa.REAL(), "sqlite"), nullable=False),
    )
    op.create_index("job_leases_by_owner", "job_leases", ["owner"])


def downgrade() -> None:
    op.drop_index("job_leases_by_owner", table_name="job_leases")
    op.drop_table("job_leases")
