"""auth change log: processes learn which device and tenant rows changed, not only that some did

Revision ID: 0010_auth_change_log
Revises: 0009_device_flow_access
Create Date: 2026-12-02 01:40:00

Processes keep the device and tenant rows device tokens are checked against (``tokens/live.py``)
and drop only the rows that changed (``kit/changes.py``).

* **SQLite**: triggers write ``(table_name, row_id)`` into ``auth_changes`` for each updated or
  deleted ``devices`` or ``tenants`` row, in the transaction that changes it.  A process reads the
  rows past the last id it saw when ``PRAGMA data_version`` moves; ``AUTOINCREMENT`` ids never go
  back, so a count that does not match the ids shows that rows were purged before this process
  read them (it then drops everything).  The table is not a model: nothing but triggers and
  ``kit/changes.py`` touch it.
* **PostgreSQL**: the trigger of migration 0007 also appends ``<table>:<id>`` to the session's
  ``posfleet.auth_changed`` setting (undone with the transaction should it roll back), which the
  writing connection reads right after its statement: the process that wrote drops exactly those
  rows once it commits, without waiting for its own notification.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op

revision: str = "0010_auth_change_log"
down_revision: str | None = "0009_device_flow_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("devices", "tenants")
EVENTS = ("update", "delete")
MAX_ROWS_NOTIFIED = 1000  # as in 0007
# Past this many characters the session's list says "all" instead of growing.
MAX_LISTED = 20000

SQLITE_UP = [
    "CREATE TABLE auth_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "table_name TEXT NOT NULL, row_id INTEGER NOT NULL)",
    *(
        f"CREATE TRIGGER {table}_auth_change_{event} AFTER {event.upper()} ON {table} BEGIN "
        f"INSERT INTO auth_changes (table_name, row_id) VALUES ('{table}', OLD.id); END"
        for table in TABLES
        for event in EVENTS
    ),
]
SQLITE_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS {table}_auth_change_{event}"
        for table in TABLES
        for event in EVENTS
    ),
    "DROP TABLE IF EXISTS auth_changes",
]


def _postgres_function(listed: bool) -> str:
    keep = (
        f"""
      IF changed > {MAX_ROWS_NOTIFIED} THEN
        these := 'all';
      ELSE
        SELECT string_agg(TG_TABLE_NAME || ':' || id, ',') INTO these FROM old_rows;
      END IF;
      listed := coalesce(current_setting('posfleet.auth_changed', true), '');
      IF these IS NOT NULL THEN
        IF listed = '' THEN
          listed := these;
        ELSIF length(listed) + length(these) > {MAX_LISTED} THEN
          listed := 'all';
        ELSE
          listed := listed || ',' || these;
        END IF;
        PERFORM set_config('posfleet.auth_changed', listed, false);
      END IF;"""
        if listed
        else ""
    )
    return f"""
    CREATE OR REPLACE FUNCTION posfleet_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      changed bigint;
      these text;
      listed text;
    BEGIN
      PERFORM nextval('posfleet_auth_epoch');
      SELECT count(*) INTO changed FROM old_rows;
      IF changed > {MAX_ROWS_NOTIFIED} THEN
        PERFORM pg_notify('posfleet_auth', 'all');
      ELSE
        PERFORM pg_notify('posfleet_auth', TG_TABLE_NAME || ':' || id) FROM old_rows;
      END IF;{keep}
      RETURN NULL;
    END $$
    """


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(_postgres_function(listed=True))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(_postgres_function(listed=False))
