"""activity stamps: a device's last-activity stamp no longer drops the rows processes keep of it

Revision ID: 0011_activity_stamps
Revises: 0010_auth_change_log
Create Date: 2026-12-02 07:00:00

Processes keep the device rows that device tokens are checked against and that DeviceInfo is
rendered from, and drop a device's rows when the triggers of migrations 0007 and 0010 report the
row changed.  The activity writer (``devices/activity.py``) stamps ``last_activity_at`` of every
active device about once a minute; the triggers reported those stamps like any change, so each
active device's next request read the database again, once a minute, on every replica — and on
a busy server that read waited for a pooled connection behind the writes of the moment.

Now an UPDATE of a ``devices`` row is reported only when a column other than
``last_activity_at`` changed value.  Nothing a process keeps depends on that stamp: the activity
writer remembers what it wrote itself (``ActivityLog``), and the admin API and the back office
read the stamp from the database.

* **SQLite**: the ``devices_auth_change_update`` trigger gets a ``WHEN`` that compares every
  other column of the row (the list is taken from the table when this migration runs; a later
  migration that adds a column to ``devices`` recreates the trigger, and a test checks that the
  list matches the model).
* **PostgreSQL**: the update trigger of ``devices`` compares the old and new rows as ``jsonb``
  without ``last_activity_at`` (so a later column is compared without a change here), and
  notifies, moves the epoch and lists only the rows that differ.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file and the table's own columns

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0011_activity_stamps"
down_revision: str | None = "0010_auth_change_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = "last_activity_at"
MAX_ROWS_NOTIFIED = 1000  # as in 0007
MAX_LISTED = 20000  # as in 0010

_SQLITE_TRIGGER = "devices_auth_change_update"
_SQLITE_LOG = "INSERT INTO auth_changes (table_name, row_id) VALUES ('devices', OLD.id);"


def sqlite_trigger(columns: Sequence[str]) -> str:
    """The update trigger of ``devices`` on SQLite, reporting rows where one of ``columns``
    (every column but the activity stamp) changed value."""
    changed = " OR ".join(f'OLD."{c}" IS NOT NEW."{c}"' for c in columns if c != STAMP)
    return (
        f"CREATE TRIGGER {_SQLITE_TRIGGER} AFTER UPDATE ON devices WHEN {changed} "
        f"BEGIN {_SQLITE_LOG} END"
    )


_POSTGRES_FUNCTION = f"""
CREATE FUNCTION posfleet_devices_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
  these text;
  listed text;
BEGIN
  SELECT array_agg(o.id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE to_jsonb(o) - '{STAMP}' IS DISTINCT FROM to_jsonb(n) - '{STAMP}';
  IF ids IS NULL THEN
    RETURN NULL;  -- only activity stamps moved: nothing any process keeps changed
  END IF;
  PERFORM nextval('posfleet_auth_epoch');
  IF cardinality(ids) > {MAX_ROWS_NOTIFIED} THEN
    PERFORM pg_notify('posfleet_auth', 'all');
    these := 'all';
  ELSE
    PERFORM pg_notify('posfleet_auth', 'devices:' || id) FROM unnest(ids) AS id;
    SELECT string_agg('devices:' || id, ',') INTO these FROM unnest(ids) AS id;
  END IF;
  listed := coalesce(current_setting('posfleet.auth_changed', true), '');
  IF listed = '' THEN
    listed := these;
  ELSIF length(listed) + length(these) > {MAX_LISTED} THEN
    listed := 'all';
  ELSE
    listed := listed || ',' || these;
  END IF;
  PERFORM set_config('posfleet.auth_changed', listed, false);
  RETURN NULL;
END $$
"""

POSTGRES_UP = [
    _POSTGRES_FUNCTION,
    "DROP TRIGGER devices_auth_changed_update ON devices",
    "CREATE TRIGGER devices_auth_changed_update AFTER UPDATE ON devices "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION posfleet_devices_updated()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER devices_auth_changed_update ON devices",
    "CREATE TRIGGER devices_auth_changed_update AFTER UPDATE ON devices "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION posfleet_auth_changed()",
    "DROP FUNCTION posfleet_devices_updated()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        columns = [row[1] for row in op.get_bind().execute(text("PRAGMA table_info(devices)"))]
        op.execute(f"DROP TRIGGER IF EXISTS {_SQLITE_TRIGGER}")
        op.execute(sqlite_trigger(columns))
    elif dialect == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_SQLITE_TRIGGER}")
        op.execute(
            f"CREATE TRIGGER {_SQLITE_TRIGGER} AFTER UPDATE ON devices BEGIN {_SQLITE_LOG} END"
        )
    elif dialect == "postgresql":
        for statement in POSTGRES_DOWN:
            op.execute(statement)
