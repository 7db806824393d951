"""device info version: a per-tenant stamp the database moves whenever device info may change

Revision ID: 0003_device_info_version
Revises: 0002_device_search
Create Date: 2026-11-22 05:10:00

``GET /v2/device`` answers from a per-process cache of the rendered DeviceInfo body.  The cache is
keyed by ``tenants.config_version`` (read with the token check on every request) and the
device's own columns, so a replica can only serve a body it would render again.  Triggers move
the version on every insert, update and delete of the rows DeviceInfo reads: the tenant itself,
its stores, tills, payment methods, reasons, denominations, setting definitions and printers,
and a device's setting values and printer assignments.  Every writer (both dialects, the back
office, the CLI, cascades) moves it without knowing about it.
"""

# ruff: noqa: S608 -- DDL is built from the constant table names in this file, never from input

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_device_info_version"
down_revision: str | None = "0002_device_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "stores",
    "tills",
    "store_payment_methods",
    "reasons",
    "currency_denominations",
    "device_setting_definitions",
    "printers",
)
DEVICE_TABLES = ("device_setting_values", "device_printers")
EVENTS = ("insert", "update", "delete")

BUMP = "UPDATE tenants SET config_version = config_version + 1 WHERE id"


def _sqlite_up() -> list[str]:
    statements = [
        # Recursive triggers are off in SQLite; the WHEN clause also stops a second bump when
        # the update is itself a bump.
        "CREATE TRIGGER tenants_config_version AFTER UPDATE ON tenants "
        "WHEN NEW.config_version = OLD.config_version BEGIN "
        f"{BUMP} = NEW.id; END"
    ]
    for table in TENANT_TABLES:
        for event in EVENTS:
            row = "OLD" if event == "delete" else "NEW"
            statements.append(
                f"CREATE TRIGGER {table}_config_version_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {BUMP} = {row}.tenant_id; END"
            )
    for table in DEVICE_TABLES:
        for event in EVENTS:
            row = "OLD" if event == "delete" else "NEW"
            statements.append(
                f"CREATE TRIGGER {table}_config_version_{event} AFTER {event.upper()} ON {table} "
                f"BEGIN {BUMP} = (SELECT tenant_id FROM devices WHERE id = {row}.device_id); END"
            )
    return statements


def _sqlite_down() -> list[str]:
    names = [f"{t}_config_version_{e}" for t in TENANT_TABLES + DEVICE_TABLES for e in EVENTS]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in ["tenants_config_version", *names]]


# Statement-level triggers with transition tables: a bulk load (COPY of many devices with their
# settings) bumps each tenant once per statement, not once per row.
POSTGRES_FUNCTIONS = [
    """
    CREATE FUNCTION tenants_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.config_version = OLD.config_version THEN
        NEW.config_version := OLD.config_version + 1;
      END IF;
      RETURN NEW;
    END $$
    """,
    f"""
    CREATE FUNCTION config_version_by_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        {BUMP} IN (SELECT DISTINCT tenant_id FROM old_rows);
      ELSE
        {BUMP} IN (SELECT DISTINCT tenant_id FROM new_rows);
      END IF;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION config_version_by_device() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        {BUMP} IN (SELECT d.tenant_id FROM devices d WHERE d.id IN (SELECT device_id FROM old_rows));
      ELSE
        {BUMP} IN (SELECT d.tenant_id FROM devices d WHERE d.id IN (SELECT device_id FROM new_rows));
      END IF;
      RETURN NULL;
    END $$
    """,
]


def _postgres_up() -> list[str]:
    statements = [
        *POSTGRES_FUNCTIONS,
        "CREATE TRIGGER tenants_config_version BEFORE UPDATE ON tenants "
        "FOR EACH ROW EXECUTE FUNCTION tenants_config_version()",
    ]
    for tables, function in (
        (TENANT_TABLES, "config_version_by_tenant"),
        (DEVICE_TABLES, "config_version_by_device"),
    ):
        for table in tables:
            for event in EVENTS:
                transition = {
                    "insert": "NEW TABLE AS new_rows",
                    "update": "NEW TABLE AS new_rows",
                    "delete": "OLD TABLE AS old_rows",
                }[event]
                statements.append(
                    f"CREATE TRIGGER {table}_config_version_{event} AFTER {event.upper()} "
                    f"ON {table} REFERENCING {transition} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION {function}()"
                )
    return statements


def _postgres_down() -> list[str]:
    statements = ["DROP TRIGGER IF EXISTS tenants_config_version ON tenants"]
    for table in TENANT_TABLES + DEVICE_TABLES:
        for event in EVENTS:
            statements.append(f"DROP TRIGGER IF EXISTS {table}_config_version_{event} ON {table}")
    for function in (
        "config_version_by_device",
        "config_version_by_tenant",
        "tenants_config_version",
    ):
        statements.append(f"DROP FUNCTION IF EXISTS {function}()")
    return statements


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("config_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _sqlite_up() if sqlite else _postgres_up():
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _sqlite_down() if sqlite else _postgres_down():
        op.execute(statement)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("config_version")
