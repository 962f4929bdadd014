"""Source outages: each ended outage of a timeline, for the digest's "sources that were down" note.

Revision ID: 0003
Revises: 0002 (run-time watches)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `source_outages`."""
    op.create_table(
        "source_outages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_outages")),
    )
    op.create_index("ix_source_outages_ended_at", "source_outages", ["ended_at"], unique=False)


def downgrade() -> None:
    """Drop `source_outages`."""
    op.drop_index("ix_source_outages_ended_at", table_name="source_outages")
    op.drop_table("source_outages")
