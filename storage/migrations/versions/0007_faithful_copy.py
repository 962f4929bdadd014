"""Which language source a post's language came from, and mention counts kept after retention purges posts.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language_source", sa.String(length=16), nullable=True))
    op.create_table(
        "mention_counts",
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("brand", "hour", "sentiment", name=op.f("pk_mention_counts")),
    )


def downgrade() -> None:
    op.drop_table("mention_counts")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("language_source")
