"""tenant user changes: processes learn when a user row changes, as they do for devices and tenants

Revision ID: 0014_tenant_user_changes
Revises: 0013_devices_out_of_order
Create Date: 2026-12-02 16:20:00

Processes keep the tenant and user rows a user's token is checked against (token version,
status, permissions; ``tokens/live.py``), as they keep devices' (migrations 0007 and 0010), and
drop a user's rows when that user changes.

* **SQLite**: triggers write ``('tenant_users', id)`` into ``auth_changes`` for each updated or
  deleted ``tenant_users`` row, in the transaction that changes it.
* **PostgreSQL**: the statement-level triggers of migration 0007 on ``tenant_users`` too: one
  ``NOTIFY posfleet_auth, 'tenant_users:<id>'`` per changed row when the change commits, the
  epoch moved, and the row listed for the writing connection (migration 0010).
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op

revision: str = "0014_tenant_user_changes"
down_revision: str | None = "0013_devices_out_of_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "tenant_users"
EVENTS = ("update", "delete")

SQLITE_UP = [
    f"CREATE TRIGGER {TABLE}_auth_change_{event} AFTER {event.upper()} ON {TABLE} BEGIN "
    f"INSERT INTO auth_changes (table_name, row_id) VALUES ('{TABLE}', OLD.id); END"
    for event in EVENTS
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {TABLE}_auth_change_{event}" for event in EVENTS]
POSTGRES_UP = [
    f"CREATE TRIGGER {TABLE}_auth_changed_{event} AFTER {event.upper()} ON {TABLE} "
    f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    f"EXECUTE FUNCTION posfleet_auth_changed()"
    for event in EVENTS
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS {TABLE}_auth_changed_{event} ON {TABLE}" for event in EVENTS
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
