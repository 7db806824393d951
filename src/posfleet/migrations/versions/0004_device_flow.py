"""device flow: grants outlive their device and remember its credential generation

Revision ID: 0004_device_flow
Revises: 0003_device_info_version
Create Date: 2026-12-01 21:30:00

A device authorized through the device flow keeps polling ``POST /v2/device/token`` with its
``deviceIdentifier``.  Once the device is reset its generation moves on, and once it (or its
tenant) is deleted its grant must still be found, so the device and tenant references become
``SET NULL`` instead of ``CASCADE``; ``failed_attempts`` goes, since guessing device codes is
budgeted per address and per tenant, not per grant.  No release served the device flow, so
the table is empty and is recreated rather than altered (SQLite cannot alter a foreign key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import posfleet.models.base

revision: str = "0004_device_flow"
down_revision: str | None = "0003_device_info_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_device_grants_pending_code",
            sqlite_where=sa.text("state = 'PENDING'"),
            postgresql_where=sa.text("state = 'PENDING'"),
        )
        batch_op.drop_index(batch_op.f("ix_device_grants_client_id"))
    op.drop_table("device_grants")
    op.create_table(
        "device_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("system_information", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("device_generation", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["device_flow_clients.id"],
            name=op.f("fk_device_grants_client_id_device_flow_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_grants_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_grants_tenant_id_tenants"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_grants")),
        sa.UniqueConstraint("identifier_hash", name=op.f("uq_device_grants_identifier_hash")),
    )
    with op.batch_alter_table("device_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_grants_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "uq_device_grants_pending_code",
            ["device_code_hash"],
            unique=True,
            sqlite_where=sa.text("state = 'PENDING'"),
            postgresql_where=sa.text("state = 'PENDING'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("device_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_device_grants_pending_code",
            sqlite_where=sa.text("state = 'PENDING'"),
            postgresql_where=sa.text("state = 'PENDING'"),
        )
        batch_op.drop_index(batch_op.f("ix_device_grants_client_id"))
    op.drop_table("device_grants")
    op.create_table(
        "device_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("system_information", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", posfleet.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["device_flow_clients.id"],
            name=op.f("fk_device_grants_client_id_device_flow_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_grants_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_grants_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_grants")),
        sa.UniqueConstraint("identifier_hash", name=op.f("uq_device_grants_identifier_hash")),
    )
    with op.batch_alter_table("device_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_grants_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "uq_device_grants_pending_code",
            ["device_code_hash"],
            unique=True,
            sqlite_where=sa.text("state = 'PENDING'"),
            postgresql_where=sa.text("state = 'PENDING'"),
        )
