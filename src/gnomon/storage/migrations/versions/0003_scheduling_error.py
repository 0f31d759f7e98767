"""process_definition.scheduling_error and process.scheduling_error: why the scheduler gave up
on one definition or one run while every other went on

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("process_definition", "process"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("scheduling_error", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in ("process_definition", "process"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("scheduling_error")
