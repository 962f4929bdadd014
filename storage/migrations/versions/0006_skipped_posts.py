"""Skipped posts: posts read but not storable, with the reason, so one bad post never blocks its timeline.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `skipped_posts`."""
    op.create_table(
        "skipped_posts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=255), nullable=False),
        sa.Column("remote_id", sa.String(length=128), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("skipped_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_posts")),
    )
    op.create_index("ix_skipped_posts_skipped_at", "skipped_posts", ["skipped_at"], unique=False)


def downgrade() -> None:
    """Drop `skipped_posts`."""
    op.drop_index("ix_skipped_posts_skipped_at", table_name="skipped_posts")
    op.drop_table("skipped_posts")
