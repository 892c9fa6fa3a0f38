"""Failed tokens per client address, counted for every API process alike (SPEC §14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_failures",
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_token_failures")),
    )
    with op.batch_alter_table("token_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_failures_window_start"), ["window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("token_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_failures_window_start"))
    op.drop_table("token_failures")
