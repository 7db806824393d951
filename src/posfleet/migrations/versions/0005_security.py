"""security: a credential nonce per device row

Revision ID: 0005
Revises: 0003_device_info_version
Create Date: 2026-12-01 21:20:00

Device tokens named (tenant, uid, credential epoch), and the epoch starts again at 1 on a new
row, so a device created again under a deleted one's uid accepted the deleted one's tokens.
Tokens now also name ``devices.credential_nonce``, drawn when the row is created.  Existing rows
get ``""``: their tokens (which carry no nonce) keep working, and no new row draws ``""``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003_device_info_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "devices",
        sa.Column("credential_nonce", sa.String(length=32), nullable=False, server_default=""),
    )


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("credential_nonce")
