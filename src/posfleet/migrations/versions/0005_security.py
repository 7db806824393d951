"""security: a credential nonce per device row; sign-in attempts per account

Revision ID: 0005_security
Revises: 0004_device_flow
Create Date: 2026-12-01 21:20:00

Device tokens named (tenant, uid, credential epoch), and the epoch starts again at 1 on a new
row, so a device created again under a deleted one's uid accepted the deleted one's tokens.
Tokens now also name ``devices.credential_nonce``, drawn when the row is created.  Existing rows
get ``""``: their tokens (which carry no nonce) keep working, and no new row draws ``""``.

``sign_in_attempts`` counts attempts on one account since its last success, from any address,
for the growing delays of ``kit/ratelimit.AccountBudget``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import posfleet.models.base

revision: str = "0005_security"
down_revision: str | None = "0004_device_flow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "last_attempt_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_attempts")),
    )
    op.add_column(
        "devices",
        sa.Column("credential_nonce", sa.String(length=32), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("sign_in_attempts")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("credential_nonce")
