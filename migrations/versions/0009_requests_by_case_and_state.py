"""Requests indexed by case and state, and by case in the order they were made: a case is read
with its open requests only and its settled ones counted, and its requests are listed page by
page (SPEC §14).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_requests_case_state", "requests", ["case_id", "state", "created_at", "id"])
    op.create_index("ix_requests_case_order", "requests", ["case_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_requests_case_order", table_name="requests")
    op.drop_index("ix_requests_case_state", table_name="requests")
