"""device term counts: a search's exact total from the few distinct terms that start with it

Revision ID: 0015_device_term_counts
Revises: 0014_tenant_user_changes
Create Date: 2026-12-02 20:00:00

Counting a term search's matches read one index entry per match (migration 0012): 111,000
matches cost 14 to 60 ms however small the page.  ``device_term_counts`` holds, per tenant, field
set and term, how many devices have that term, so a fragment's total is a sum over the distinct
terms that start with it (111 for ``kasse1`` in the benchmark fleet), not over its matches.

A device whose text has two terms starting with the fragment (``kasse12`` and ``kasse15``) must
count once.  Each device's terms of a field set are sorted and stored with ``shared``, the length
of the prefix a term shares with the device's previous term: the terms of one device starting
with a fragment are adjacent in that order, and only the first of them shares fewer characters
than the fragment's length with its predecessor.  So a fragment ``f`` matches

    sum(devices) WHERE tenant_id = :tenant AND field = :field
                   AND term >= f AND term < f' AND shared < length(f)

devices (``f'``: ``f`` with its last character moved up by one).  Terms are those of migration
0012, lower-cased: the text cut at every position up to the next space, at most 64 characters,
at least three.  Field set ``n`` is the name; ``a`` is the name, identifier and system
information together (free text).  A shared prefix is only compared when the first three
characters agree (otherwise it is stored as 0: fragments are at least three characters long).

Triggers on both engines keep the counts on insert, delete and a change of the text or tenant;
PostgreSQL's insert and delete triggers are statement-level (one upsert per ``COPY``).  The
backfill of an existing fleet prints its progress; at a million devices it takes about 15
minutes and 470 MB on SQLite.  ``env.py`` leaves the table out of ``posfleet db check``.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0015_device_term_counts"
down_revision: str | None = "0014_tenant_user_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TERM_LENGTH = 64
TERM_MIN = 3
BACKFILL_BATCH = 20_000
KEY = "tenant_id, field, term, shared"


# SQLite


def _sqlite_cuts(source: str, column: str) -> str:
    """The lower-cased terms of ``column`` of the devices ``source`` selects, with their tenant
    and id (duplicates kept).  Trigger bodies take no CTE: the source is repeated inline."""
    cut = f"substr(replace({column}, '`', ' '), p.n, {TERM_LENGTH})"
    return (
        f"SELECT tenant_id, id, lower(substr(s, 1, instr(s || ' ', ' ') - 1)) AS term "
        f"FROM (SELECT d.tenant_id, d.id, {cut} AS s FROM ({source}) AS d "
        f"JOIN device_term_positions p ON p.n <= length({column}))"
    )


def _sqlite_rows(source: str) -> str:
    """``(tenant_id, field, term, shared, devices)`` of the devices ``source`` selects (columns
    tenant_id, id, name, identifier, system_information), grouped by everything but devices."""
    name = _sqlite_cuts(source, "d.name")
    identifier = _sqlite_cuts(source, "coalesce(d.identifier, '')")
    system = _sqlite_cuts(source, "d.system_information")
    terms = (
        f"SELECT DISTINCT tenant_id, id, 'n' AS field, term FROM ({name}) "
        f"WHERE length(term) >= {TERM_MIN} "
        f"UNION SELECT tenant_id, id, 'a', term FROM ({name} UNION ALL {identifier} "
        f"UNION ALL {system}) WHERE length(term) >= {TERM_MIN}"
    )
    sorted_terms = (
        "SELECT tenant_id, field, term, "
        "lag(term) OVER (PARTITION BY id, field ORDER BY term) AS prev "
        f"FROM ({terms})"
    )
    shared = (
        "CASE WHEN prev IS NULL OR substr(prev, 1, 3) <> substr(term, 1, 3) THEN 0 "
        "ELSE (SELECT max(p.n) FROM device_term_positions p "
        "WHERE p.n <= min(length(term), length(prev)) "
        "AND substr(term, 1, p.n) = substr(prev, 1, p.n)) END"
    )
    return (
        f"SELECT tenant_id, field, term, {shared} AS shared, count(*) AS devices "
        f"FROM ({sorted_terms}) WHERE true GROUP BY 1, 2, 3, 4"
    )


def _sqlite_row(record: str) -> str:
    columns = ("tenant_id", "id", "name", "identifier", "system_information")
    return "SELECT " + ", ".join(f"{record}.{c} AS {c}" for c in columns)


def _sqlite_add(source: str) -> str:
    return (
        f"INSERT INTO device_term_counts ({KEY}, devices) {_sqlite_rows(source)} "
        f"ON CONFLICT ({KEY}) DO UPDATE SET devices = devices + excluded.devices"
    )


def _sqlite_remove(record: str) -> str:
    # One device: each of its (field, term, shared) rows counts it once.
    gone = f"SELECT {KEY} FROM ({_sqlite_rows(_sqlite_row(record))})"
    return (
        f"UPDATE device_term_counts SET devices = devices - 1 WHERE ({KEY}) IN ({gone});\n"
        f"DELETE FROM device_term_counts WHERE devices <= 0 AND ({KEY}) IN ({gone});"
    )


SQLITE_UP = [
    """
    CREATE TABLE device_term_counts (
      tenant_id INTEGER NOT NULL,
      field TEXT NOT NULL,
      term TEXT NOT NULL,
      shared INTEGER NOT NULL,
      devices INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, field, term, shared)
    ) WITHOUT ROWID
    """,
    f"""
    CREATE TRIGGER devices_term_counts_insert AFTER INSERT ON devices BEGIN
      {_sqlite_add(_sqlite_row("NEW"))};
    END
    """,
    f"""
    CREATE TRIGGER devices_term_counts_delete AFTER DELETE ON devices BEGIN
      {_sqlite_remove("OLD")}
    END
    """,
    f"""
    CREATE TRIGGER devices_term_counts_update
    AFTER UPDATE OF tenant_id, name, identifier, system_information ON devices
    WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.name IS NOT NEW.name
      OR OLD.identifier IS NOT NEW.identifier
      OR OLD.system_information IS NOT NEW.system_information
    BEGIN
      {_sqlite_remove("OLD")}
      {_sqlite_add(_sqlite_row("NEW"))};
    END
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS devices_term_counts_update",
    "DROP TRIGGER IF EXISTS devices_term_counts_delete",
    "DROP TRIGGER IF EXISTS devices_term_counts_insert",
    "DROP TABLE IF EXISTS device_term_counts",
]


# PostgreSQL


def _pg_rows(rows: str) -> str:
    """``(tenant_id, field, term, shared, devices)`` of the devices in ``rows`` (a transition
    table, a one-row select or ``devices``), grouped by everything but devices."""
    return f"""
      SELECT tenant_id, field, term,
             CASE WHEN prev IS NULL OR left(prev, 3) <> left(term, 3) THEN 0
                  ELSE device_terms_shared(prev, term) END AS shared,
             count(*)::integer AS devices
      FROM (
        SELECT d.tenant_id, f.field, f.term,
               lag(f.term) OVER (PARTITION BY d.id, f.field ORDER BY f.term) AS prev
        FROM {rows} AS d
        CROSS JOIN LATERAL (
          SELECT 'n'::"char", t COLLATE "C" FROM device_text_terms(d.name) AS t
          UNION ALL
          SELECT 'a'::"char", t COLLATE "C" FROM (
            SELECT device_text_terms(d.name)
            UNION SELECT device_text_terms(coalesce(d.identifier, ''))
            UNION SELECT device_text_terms(d.system_information)
          ) AS a (t)
        ) AS f (field, term)
      ) AS sorted
      GROUP BY 1, 2, 3, 4
    """


def _pg_add(rows: str) -> str:
    return f"""
      INSERT INTO device_term_counts AS c ({KEY}, devices) {_pg_rows(rows)}
      ON CONFLICT ({KEY}) DO UPDATE SET devices = c.devices + excluded.devices
    """


def _pg_remove(rows: str) -> str:
    return f"""
      UPDATE device_term_counts AS c SET devices = c.devices - gone.devices
      FROM ({_pg_rows(rows)}) AS gone
      WHERE (c.tenant_id, c.field, c.term, c.shared)
        = (gone.tenant_id, gone.field, gone.term, gone.shared);
      DELETE FROM device_term_counts AS c USING ({_pg_rows(rows)}) AS gone
      WHERE (c.tenant_id, c.field, c.term, c.shared)
        = (gone.tenant_id, gone.field, gone.term, gone.shared) AND c.devices <= 0
    """


def _pg_row(record: str) -> str:
    columns = ("tenant_id", "id", "name", "identifier", "system_information")
    return "(SELECT " + ", ".join(f"{record}.{c} AS {c}" for c in columns) + ")"


POSTGRES_UP = [
    f"""
    CREATE FUNCTION device_terms_shared(a text, b text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT coalesce(max(n), 0)
      FROM generate_series(1, least(length(a), length(b), {TERM_LENGTH})) AS n
      WHERE left(a, n) = left(b, n)
    $$
    """,
    """
    CREATE TABLE device_term_counts (
      tenant_id integer NOT NULL,
      field "char" NOT NULL,
      term text COLLATE "C" NOT NULL,
      shared smallint NOT NULL,
      devices integer NOT NULL,
      CONSTRAINT pk_device_term_counts PRIMARY KEY (tenant_id, field, term, shared)
    )
    """,
    f"""
    CREATE FUNCTION device_term_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {_pg_add("new_rows")};
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_term_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {_pg_remove("old_rows")};
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_term_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {_pg_remove(_pg_row("OLD"))};
      {_pg_add(_pg_row("NEW"))};
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER devices_term_counts_insert AFTER INSERT ON devices "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION device_term_counts_add()",
    "CREATE TRIGGER devices_term_counts_delete AFTER DELETE ON devices "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION device_term_counts_remove()",
    # Row-level, for the text columns only, as migration 0012's term trigger.
    """
    CREATE TRIGGER devices_term_counts_update
    AFTER UPDATE OF tenant_id, name, identifier, system_information ON devices
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.name, OLD.identifier, OLD.system_information)
      IS DISTINCT FROM (NEW.tenant_id, NEW.name, NEW.identifier, NEW.system_information))
    EXECUTE FUNCTION device_term_counts_move()
    """,
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS devices_term_counts_update ON devices",
    "DROP TRIGGER IF EXISTS devices_term_counts_delete ON devices",
    "DROP TRIGGER IF EXISTS devices_term_counts_insert ON devices",
    "DROP FUNCTION IF EXISTS device_term_counts_move()",
    "DROP FUNCTION IF EXISTS device_term_counts_remove()",
    "DROP FUNCTION IF EXISTS device_term_counts_add()",
    "DROP TABLE IF EXISTS device_term_counts",
    "DROP FUNCTION IF EXISTS device_terms_shared(text, text)",
]


def _backfill(statement: str) -> None:
    bind = op.get_bind()
    total = bind.execute(text("SELECT count(*) FROM devices")).scalar_one()
    top = bind.execute(text("SELECT coalesce(max(id), 0) FROM devices")).scalar_one()
    for start in range(0, top, BACKFILL_BATCH):
        bind.execute(text(statement), {"start": start, "end": start + BACKFILL_BATCH})
        done = bind.execute(
            text("SELECT count(*) FROM devices WHERE id <= :end"),
            {"end": start + BACKFILL_BATCH},
        ).scalar_one()
        print(f"    device term counts: {done:,}/{total:,} devices", flush=True)


BATCH = (
    "SELECT tenant_id, id, name, identifier, system_information FROM devices "
    "WHERE id > :start AND id <= :end"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        _backfill(_sqlite_add(BATCH))
        return
    for statement in POSTGRES_UP:
        op.execute(statement)
    _backfill(_pg_add(f"({BATCH})"))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
