"""store_identity: the id that names this store's jobs on a shared engine or cluster

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The row itself is written at first start (`storage.identity`), so a store emptied by hand
    # still gets one.
    op.create_table(
        "store_identity",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("store_identity")
