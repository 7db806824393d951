"""secret key ids: every stored HMAC and ciphertext names the server secret it was made with

Revision ID: 0008_secret_key_ids
Revises: 0007_auth_changes
Create Date: 2026-12-02 00:30:00

With several server secrets listed (``POSFLEET_SECRET_KEY`` and
``POSFLEET_PREVIOUS_SECRET_KEYS``), a reader must know which one a stored hash or sealed value
belongs to, and ``posfleet secrets status`` counts the rows that still depend on an old one.
Every existing row was made with the one secret there was, so it is backfilled with the current
secret's key id (kit/keyring.py): run this migration with the configuration the rows were made
under.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from posfleet.config import Settings

revision: str = "0008_secret_key_ids"
down_revision: str | None = "0007_auth_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> whether the column may be NULL (outbox entries seal nothing once sent, and webhook
# entries never do)
TABLES = {
    "api_keys": False,
    "device_grants": False,
    "device_refresh_tokens": False,
    "link_codes": False,
    "otp_challenges": False,
    "pairing_codes": False,
    "signing_keys": False,
    "webhook_endpoints": False,
    "outbox_entries": True,
}


def upgrade() -> None:
    settings: Settings = context.config.attributes.get("settings") or Settings()
    current = settings.server_secrets().current_id
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, nullable in TABLES.items():
        if nullable:
            op.add_column(table, sa.Column("secret_key_id", sa.String(16), nullable=True))
            rows = sa.table(table, sa.column("secret_key_id"), sa.column("sealed"))
            op.execute(
                sa.update(rows).where(rows.c.sealed.is_not(None)).values(secret_key_id=current)
            )
            continue
        # Existing rows take the default; the application always names the key itself.
        # SQLite cannot drop a column default without rebuilding the table (and its partial
        # indexes), so there the default stays; nothing inserts without a key id.
        op.add_column(
            table,
            sa.Column("secret_key_id", sa.String(16), nullable=False, server_default=current),
        )
        if not sqlite:
            op.alter_column(table, "secret_key_id", server_default=None)


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ has it): the column is in no index, so nothing is
    # rebuilt.
    for table in TABLES:
        op.drop_column(table, "secret_key_id")
