"""devices out of order: which tenants have a device created before one with a lower id (SQLite)

Revision ID: 0013_devices_out_of_order
Revises: 0012_device_terms
Create Date: 2026-12-02 13:10:00

A term search on SQLite finds its matches in the FTS5 table in rowid (device id) order; sorting
them by creation time reads each match's creation time from ``ix_devices_terms_sort``, a few
milliseconds for a thousand matches.  Devices are created in time order, so in a tenant whose
creation times never decrease as ids grow, the order by (creation, id) is the order by id and
a page is the first matches the term table yields.  ``devices_out_of_order`` lists the tenants
for which that does not hold: a device written with an earlier creation time than one with a
lower id (an import that keeps creation times, a clock set back), or a creation time or tenant
changed afterwards.  Triggers add a tenant; nothing removes one (a listed tenant is only
searched the general way).  The backfill checks an existing fleet once, with progress.

PostgreSQL needs none of this: its term table holds each match's creation time in its btree.
``env.py`` leaves the table out of ``posfleet db check``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_devices_out_of_order"
down_revision: str | None = "0012_device_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE TABLE devices_out_of_order (tenant_id INTEGER PRIMARY KEY)",
    # A new device is normally the tenant's latest: the range of later creation times in
    # ix_devices_tenant_created is empty, one index seek.
    """
    CREATE TRIGGER devices_order_insert AFTER INSERT ON devices
    WHEN NOT EXISTS (SELECT 1 FROM devices_out_of_order WHERE tenant_id = NEW.tenant_id)
      AND EXISTS (
        SELECT 1 FROM devices
        WHERE tenant_id = NEW.tenant_id AND created_at > NEW.created_at AND id < NEW.id
      )
    BEGIN
      INSERT OR IGNORE INTO devices_out_of_order (tenant_id) VALUES (NEW.tenant_id);
    END
    """,
    """
    CREATE TRIGGER devices_order_update AFTER UPDATE OF tenant_id, created_at ON devices
    WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at
    BEGIN
      INSERT OR IGNORE INTO devices_out_of_order (tenant_id) VALUES (NEW.tenant_id);
    END
    """,
]

SQLITE_BACKFILL = """
    INSERT OR IGNORE INTO devices_out_of_order (tenant_id)
    SELECT DISTINCT tenant_id FROM (
      SELECT tenant_id, created_at, max(created_at) OVER (
        PARTITION BY tenant_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
      ) AS latest_before
      FROM devices
    )
    WHERE latest_before > created_at
"""

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS devices_order_update",
    "DROP TRIGGER IF EXISTS devices_order_insert",
    "DROP TABLE IF EXISTS devices_out_of_order",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in SQLITE_UP:
        op.execute(statement)
    total = op.get_bind().exec_driver_sql("SELECT count(*) FROM devices").scalar_one()
    print(f"    devices out of order: checking the creation order of {total:,} devices", flush=True)
    op.execute(SQLITE_BACKFILL)
    found = op.get_bind().exec_driver_sql("SELECT count(*) FROM devices_out_of_order").scalar_one()
    print(f"    devices out of order: {found:,} tenants", flush=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in SQLITE_DOWN:
        op.execute(statement)
