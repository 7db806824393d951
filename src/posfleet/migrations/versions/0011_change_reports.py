"""change reports: a device's activity stamp drops nothing kept; the epoch moves per notification

Revision ID: 0011_change_reports
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

Also on PostgreSQL, the ``posfleet_auth_epoch`` sequence now moves once per notification (it
moved once per statement, and also for statements that changed no row), so a listener can tell
a notification that is late — its transaction had moved the sequence but not yet committed when
the listener read it — from one that was lost (``kit/changes.py``).  Before, a link committing
just as a replica read the sequence made that replica drop every row it kept.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file and the table's own columns

from collections.abc import Sequence
from importlib import import_module

from alembic import op
from sqlalchemy import text

revision: str = "0011_change_reports"
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


# Reports changed rows: one NOTIFY each (or one "all" past MAX_ROWS_NOTIFIED), the epoch moved
# once per NOTIFY in the same transaction, and the rows appended to the session's list
# (migration 0010).  No rows, no report: an UPDATE that matched nothing moves nothing.
_POSTGRES_REPORT = f"""
CREATE FUNCTION posfleet_auth_report(tbl text, ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  these text;
  listed text;
BEGIN
  IF ids IS NULL THEN
    RETURN;
  END IF;
  IF cardinality(ids) > {MAX_ROWS_NOTIFIED} THEN
    PERFORM nextval('posfleet_auth_epoch'), pg_notify('posfleet_auth', 'all');
    these := 'all';
  ELSE
    PERFORM nextval('posfleet_auth_epoch'), pg_notify('posfleet_auth', tbl || ':' || id)
       FROM unnest(ids) AS id;
    SELECT string_agg(tbl || ':' || id, ',') INTO these FROM unnest(ids) AS id;
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
END $$
"""
# Tenants updated, tenants and devices deleted: every row of the statement.
_POSTGRES_CHANGED = """
CREATE OR REPLACE FUNCTION posfleet_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
  SELECT array_agg(id) INTO ids FROM old_rows;
  PERFORM posfleet_auth_report(TG_TABLE_NAME, ids);
  RETURN NULL;
END $$
"""
# Devices updated: the rows where a column other than the activity stamp changed value.
_POSTGRES_DEVICES_UPDATED = f"""
CREATE FUNCTION posfleet_devices_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids bigint[];
BEGIN
  SELECT array_agg(o.id) INTO ids
    FROM old_rows o JOIN new_rows n ON n.id = o.id
   WHERE to_jsonb(o) - '{STAMP}' IS DISTINCT FROM to_jsonb(n) - '{STAMP}';
  PERFORM posfleet_auth_report('devices', ids);
  RETURN NULL;
END $$
"""
POSTGRES_UP = [
    _POSTGRES_REPORT,
    _POSTGRES_CHANGED,
    _POSTGRES_DEVICES_UPDATED,
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
    # Migration 0010's function, as that migration makes it.
    import_module("posfleet.migrations.versions.0010_auth_change_log")._postgres_function(
        listed=True
    ),
    "DROP FUNCTION posfleet_auth_report(text, bigint[])",
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
