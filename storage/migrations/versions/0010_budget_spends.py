"""Budget spends: requests sent to each instance by any worker, so several workers share one budget per instance.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create `budget_spends`."""
    op.create_table(
        "budget_spends",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.Column("paging", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_spends")),
    )
    op.create_index("ix_budget_spends_origin_sent_at", "budget_spends", ["origin", "sent_at"], unique=False)


def downgrade() -> None:
    """Drop `budget_spends`."""
    op.drop_index("ix_budget_spends_origin_sent_at", table_name="budget_spends")
    op.drop_table("budget_spends")
