"""device search: counts per tenant, trigram text search, an index for sorting by modification

Revision ID: 0002_device_search
Revises: 0001
Create Date: 2026-11-22 05:00:00

A tenant with a million devices must answer a list page with an exact ``totalCount`` and a text
search in milliseconds:

* ``device_counts`` holds how many devices each tenant has per store, status and app code.  Database
  triggers keep it, so every writer (both dialects, the back office, cascades from deleted tenants
  and stores) keeps it right without knowing about it.
* Substring search uses trigram indexes: ``pg_trgm`` GIN indexes on PostgreSQL and an FTS5 table
  with the trigram tokenizer on SQLite, both kept by the database.

The FTS5 table and the trigram indexes are not ORM models; ``env.py`` leaves them out of
``posfleet db check`` (see ``UNMAPPED_SEARCH_OBJECTS``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_device_search"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """
    CREATE TRIGGER devices_count_insert AFTER INSERT ON devices BEGIN
      INSERT INTO device_counts (tenant_id, store_id, status, app_code, count)
      VALUES (NEW.tenant_id, coalesce(NEW.store_id, 0), NEW.status, NEW.app_code, 1)
      ON CONFLICT (tenant_id, store_id, status, app_code) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE TRIGGER devices_count_delete AFTER DELETE ON devices BEGIN
      UPDATE device_counts SET count = count - 1
      WHERE tenant_id = OLD.tenant_id AND store_id = coalesce(OLD.store_id, 0)
        AND status = OLD.status AND app_code = OLD.app_code;
    END
    """,
    """
    CREATE TRIGGER devices_count_update AFTER UPDATE OF tenant_id, store_id, status, app_code
    ON devices
    WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.store_id IS NOT NEW.store_id
      OR OLD.status IS NOT NEW.status OR OLD.app_code IS NOT NEW.app_code
    BEGIN
      UPDATE device_counts SET count = count - 1
      WHERE tenant_id = OLD.tenant_id AND store_id = coalesce(OLD.store_id, 0)
        AND status = OLD.status AND app_code = OLD.app_code;
      INSERT INTO device_counts (tenant_id, store_id, status, app_code, count)
      VALUES (NEW.tenant_id, coalesce(NEW.store_id, 0), NEW.status, NEW.app_code, 1)
      ON CONFLICT (tenant_id, store_id, status, app_code) DO UPDATE SET count = count + 1;
    END
    """,
    """
    CREATE VIRTUAL TABLE devices_fts USING fts5(
      name, identifier, system_information,
      content='devices', content_rowid='id', tokenize='trigram'
    )
    """,
    """
    CREATE TRIGGER devices_fts_insert AFTER INSERT ON devices BEGIN
      INSERT INTO devices_fts (rowid, name, identifier, system_information)
      VALUES (NEW.id, NEW.name, NEW.identifier, NEW.system_information);
    END
    """,
    """
    CREATE TRIGGER devices_fts_delete AFTER DELETE ON devices BEGIN
      INSERT INTO devices_fts (devices_fts, rowid, name, identifier, system_information)
      VALUES ('delete', OLD.id, OLD.name, OLD.identifier, OLD.system_information);
    END
    """,
    """
    CREATE TRIGGER devices_fts_update AFTER UPDATE OF name, identifier, system_information
    ON devices BEGIN
      INSERT INTO devices_fts (devices_fts, rowid, name, identifier, system_information)
      VALUES ('delete', OLD.id, OLD.name, OLD.identifier, OLD.system_information);
      INSERT INTO devices_fts (rowid, name, identifier, system_information)
      VALUES (NEW.id, NEW.name, NEW.identifier, NEW.system_information);
    END
    """,
    "INSERT INTO devices_fts (devices_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS devices_fts_update",
    "DROP TRIGGER IF EXISTS devices_fts_delete",
    "DROP TRIGGER IF EXISTS devices_fts_insert",
    "DROP TABLE IF EXISTS devices_fts",
    "DROP TRIGGER IF EXISTS devices_count_update",
    "DROP TRIGGER IF EXISTS devices_count_delete",
    "DROP TRIGGER IF EXISTS devices_count_insert",
]

# Statement-level triggers with transition tables: a bulk insert (COPY) of a million devices
# makes one aggregate upsert, not a million single-row updates of one hot counter row.
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_devices_trgm_name ON devices USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_devices_trgm_identifier ON devices USING gin (identifier gin_trgm_ops)",
    "CREATE INDEX ix_devices_trgm_system_information ON devices "
    "USING gin (system_information gin_trgm_ops)",
    """
    CREATE FUNCTION device_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO device_counts AS c (tenant_id, store_id, status, app_code, count)
      SELECT tenant_id, coalesce(store_id, 0), status, app_code, count(*)
      FROM new_rows GROUP BY 1, 2, 3, 4
      ON CONFLICT (tenant_id, store_id, status, app_code) DO UPDATE SET count = c.count + excluded.count;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION device_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE device_counts AS c SET count = c.count - gone.n
      FROM (SELECT tenant_id, coalesce(store_id, 0) AS store_id, status, app_code, count(*) AS n
            FROM old_rows GROUP BY 1, 2, 3, 4) AS gone
      WHERE c.tenant_id = gone.tenant_id AND c.store_id = gone.store_id
        AND c.status = gone.status AND c.app_code = gone.app_code;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION device_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (
        SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.tenant_id, o.store_id, o.status, o.app_code)
          IS DISTINCT FROM (n.tenant_id, n.store_id, n.status, n.app_code)
      ) THEN
        RETURN NULL;
      END IF;
      UPDATE device_counts AS c SET count = c.count - gone.n
      FROM (SELECT o.tenant_id, coalesce(o.store_id, 0) AS store_id, o.status, o.app_code,
                   count(*) AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.tenant_id, o.store_id, o.status, o.app_code)
              IS DISTINCT FROM (n.tenant_id, n.store_id, n.status, n.app_code)
            GROUP BY 1, 2, 3, 4) AS gone
      WHERE c.tenant_id = gone.tenant_id AND c.store_id = gone.store_id
        AND c.status = gone.status AND c.app_code = gone.app_code;
      INSERT INTO device_counts AS c (tenant_id, store_id, status, app_code, count)
      SELECT n.tenant_id, coalesce(n.store_id, 0), n.status, n.app_code, count(*)
      FROM old_rows o JOIN new_rows n ON n.id = o.id
      WHERE (o.tenant_id, o.store_id, o.status, o.app_code)
        IS DISTINCT FROM (n.tenant_id, n.store_id, n.status, n.app_code)
      GROUP BY 1, 2, 3, 4
      ON CONFLICT (tenant_id, store_id, status, app_code) DO UPDATE SET count = c.count + excluded.count;
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER devices_count_insert AFTER INSERT ON devices "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_counts_add()",
    "CREATE TRIGGER devices_count_delete AFTER DELETE ON devices "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION device_counts_remove()",
    "CREATE TRIGGER devices_count_update AFTER UPDATE ON devices "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION device_counts_move()",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS devices_count_update ON devices",
    "DROP TRIGGER IF EXISTS devices_count_delete ON devices",
    "DROP TRIGGER IF EXISTS devices_count_insert ON devices",
    "DROP FUNCTION IF EXISTS device_counts_move()",
    "DROP FUNCTION IF EXISTS device_counts_remove()",
    "DROP FUNCTION IF EXISTS device_counts_add()",
    "DROP INDEX IF EXISTS ix_devices_trgm_system_information",
    "DROP INDEX IF EXISTS ix_devices_trgm_identifier",
    "DROP INDEX IF EXISTS ix_devices_trgm_name",
]


def upgrade() -> None:
    op.create_table(
        "device_counts",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("app_code", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_counts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "store_id", "status", "app_code", name=op.f("pk_device_counts")
        ),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_devices_tenant_modified", ["tenant_id", "last_modified_at", "id"], unique=False
        )
    op.execute(
        "INSERT INTO device_counts (tenant_id, store_id, status, app_code, count) "
        "SELECT tenant_id, coalesce(store_id, 0), status, app_code, count(*) "
        "FROM devices GROUP BY tenant_id, coalesce(store_id, 0), status, app_code"
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_UP if dialect == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_tenant_modified")
    op.drop_table("device_counts")
