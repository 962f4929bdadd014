"""Copy each post's sentiment onto its mentions, behind a covering index, so the digest's daily counts never join.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment", sa.String(length=16), nullable=True))
        batch_op.drop_index("ix_mentions_brand_created_at")
    op.execute("UPDATE mentions SET sentiment = (SELECT posts.sentiment FROM posts WHERE posts.id = mentions.post_id)")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentions_brand_created_at_sentiment", ["brand", "created_at", "sentiment", "post_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_brand_created_at_sentiment")
        batch_op.create_index("ix_mentions_brand_created_at", ["brand", "created_at"], unique=False)
        batch_op.drop_column("sentiment")
