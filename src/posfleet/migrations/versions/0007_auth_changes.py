"""auth changes: PostgreSQL tells every replica when a device or tenant row changes

Revision ID: 0007_auth_changes
Revises: 0006_outbox_webhooks
Create Date: 2026-12-01 21:30:00

Replicas keep the rows a device token is checked against in process (``tokens/live.py``).  On
PostgreSQL, statement-level triggers on ``devices`` and ``tenants`` send
``NOTIFY posfleet_auth, '<table>:<id>'`` for each changed or deleted row, in the transaction that
changes it (so it is delivered exactly when the change commits, and never for a rollback), and
move the ``posfleet_auth_epoch`` sequence, which replicas read periodically to catch a
notification they lost.  A tenant's ``config_version`` moves with every change to what
DeviceInfo shows (migration 0003), so those changes notify too.  SQLite needs nothing here: it
serves one process, which sees every commit to the file (``PRAGMA data_version``).
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op

revision: str = "0007_auth_changes"
down_revision: str | None = "0006_outbox_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("devices", "tenants")
EVENTS = ("update", "delete")

# A statement that changes more rows than this sends one "all" instead of a notification each.
MAX_ROWS_NOTIFIED = 1000

UP = [
    "CREATE SEQUENCE posfleet_auth_epoch",
    f"""
    CREATE FUNCTION posfleet_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed bigint;
    BEGIN
      PERFORM nextval('posfleet_auth_epoch');
      SELECT count(*) INTO changed FROM old_rows;
      IF changed > {MAX_ROWS_NOTIFIED} THEN
        PERFORM pg_notify('posfleet_auth', 'all');
      ELSE
        PERFORM pg_notify('posfleet_auth', TG_TABLE_NAME || ':' || id) FROM old_rows;
      END IF;
      RETURN NULL;
    END $$
    """,
    *(
        f"CREATE TRIGGER {table}_auth_changed_{event} AFTER {event.upper()} ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION posfleet_auth_changed()"
        for table in TABLES
        for event in EVENTS
    ),
]

DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_auth_changed_{event} ON {table}"
        for table in TABLES
        for event in EVENTS
    ),
    "DROP FUNCTION IF EXISTS posfleet_auth_changed()",
    "DROP SEQUENCE IF EXISTS posfleet_auth_epoch",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWN:
            op.execute(statement)
