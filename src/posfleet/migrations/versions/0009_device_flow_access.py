"""device-flow access: which device-flow clients each tenant lets its users approve

Revision ID: 0009_device_flow_access
Revises: 0008_secret_key_ids
Create Date: 2026-12-02 00:30:00

Existing tenants get no row, which means what they had: every active client is allowed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from posfleet.models.base import UTCDateTime

revision: str = "0009_device_flow_access"
down_revision: str | None = "0008_secret_key_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_flow_access",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("only_listed", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_flow_access_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_device_flow_access")),
    )
    op.create_table(
        "device_flow_allowed_clients",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_flow_allowed_clients_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["device_flow_clients.id"],
            name=op.f("fk_device_flow_allowed_clients_client_id_device_flow_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "client_id", name=op.f("pk_device_flow_allowed_clients")
        ),
    )


def downgrade() -> None:
    op.drop_table("device_flow_allowed_clients")
    op.drop_table("device_flow_access")
