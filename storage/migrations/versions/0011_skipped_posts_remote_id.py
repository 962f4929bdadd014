"""An index on skipped_posts.remote_id: recording a page's skips looks its ids up first, so each is recorded once.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_skipped_posts_remote_id", "skipped_posts", ["remote_id"])


def downgrade() -> None:
    op.drop_index("ix_skipped_posts_remote_id", table_name="skipped_posts")
