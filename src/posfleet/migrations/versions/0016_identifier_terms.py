"""identifier terms: PostgreSQL's term table holds identifiers too

Revision ID: 0016_identifier_terms
Revises: 0015_device_term_counts
Create Date: 2026-12-02 20:40:00

Free text searches a device's name, identifier and system information.  PostgreSQL's
``device_terms`` (migration 0012) held the terms of name (field ``n``) and system information
(``s``); identifiers were looked up in their trigram index beside the term range, which cost a
free-text search about 1.5 ms at a million devices however few devices matched (the fragment's
trigrams are common in random identifiers).  This migration adds their terms as field ``i``:
the triggers of 0012 are replaced by ones that write all three fields (the update trigger now
also fires on a change of the identifier), and the identifiers of an existing fleet are cut
into terms with progress.  SQLite's ``device_terms`` held identifiers from the start.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0016_identifier_terms"
down_revision: str | None = "0015_device_term_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_BATCH = 50_000


def _rows(rows: str, fields: Sequence[tuple[str, str]]) -> str:
    """The term rows of the devices in ``rows`` for ``fields`` (field code, column)."""
    values = ", ".join(f"('{code}'::\"char\", d.{column})" for code, column in fields)
    return f"""
      SELECT DISTINCT d.tenant_id, f.field, t.term, d.created_at, d.id AS device_id
      FROM {rows} AS d
      CROSS JOIN LATERAL (VALUES {values}) AS f (field, body)
      CROSS JOIN LATERAL device_text_terms(f.body) AS t (term)
    """


def _delete(rows: str, fields: Sequence[tuple[str, str]]) -> str:
    return f"""
      DELETE FROM device_terms AS d USING ({_rows(rows, fields)}) AS gone
      WHERE d.tenant_id = gone.tenant_id AND d.field = gone.field AND d.term = gone.term
        AND d.created_at = gone.created_at AND d.device_id = gone.device_id
    """


def _row(record: str, identifier: bool) -> str:
    columns = ["tenant_id", "name", "system_information", "created_at", "id"]
    if identifier:
        columns.append("identifier")
    return "(SELECT " + ", ".join(f"{record}.{c} AS {c}" for c in columns) + ")"


# 0012's fields, and this migration's.
BEFORE = (("n", "name"), ("s", "system_information"))
AFTER = (*BEFORE, ("i", "identifier"))


def _functions(fields: Sequence[tuple[str, str]], identifier: bool) -> list[str]:
    insert = "INSERT INTO device_terms (tenant_id, field, term, created_at, device_id)"
    return [
        f"""
        CREATE OR REPLACE FUNCTION device_terms_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {insert} {_rows("new_rows", fields)};
          RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION device_terms_remove() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_delete("old_rows", fields)};
          RETURN NULL;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION device_terms_move() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          {_delete(_row("OLD", identifier), fields)};
          {insert} {_rows(_row("NEW", identifier), fields)};
          RETURN NULL;
        END $$
        """,
    ]


def _update_trigger(columns: str) -> list[str]:
    old = ", ".join(f"OLD.{c}" for c in columns.split(", "))
    new = ", ".join(f"NEW.{c}" for c in columns.split(", "))
    return [
        "DROP TRIGGER IF EXISTS devices_terms_update ON devices",
        f"""
        CREATE TRIGGER devices_terms_update AFTER UPDATE OF {columns} ON devices
        FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new}))
        EXECUTE FUNCTION device_terms_move()
        """,
    ]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in _functions(AFTER, True):
        op.execute(statement)
    for statement in _update_trigger("tenant_id, name, identifier, system_information, created_at"):
        op.execute(statement)
    total = bind.execute(text("SELECT count(*) FROM devices")).scalar_one()
    top = bind.execute(text("SELECT coalesce(max(id), 0) FROM devices")).scalar_one()
    batch = "(SELECT * FROM devices WHERE id > :start AND id <= :end)"
    for start in range(0, top, BACKFILL_BATCH):
        bind.execute(
            text(
                "INSERT INTO device_terms (tenant_id, field, term, created_at, device_id) "
                + _rows(batch, (("i", "identifier"),))
            ),
            {"start": start, "end": start + BACKFILL_BATCH},
        )
        done = bind.execute(
            text("SELECT count(*) FROM devices WHERE id <= :end"),
            {"end": start + BACKFILL_BATCH},
        ).scalar_one()
        print(f"    identifier terms: {done:,}/{total:,} devices", flush=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _functions(BEFORE, False):
        op.execute(statement)
    for statement in _update_trigger("tenant_id, name, system_information, created_at"):
        op.execute(statement)
    op.execute("DELETE FROM device_terms WHERE field = 'i'")
