"""device terms: substring search that counts and sorts its matches without reading devices

Revision ID: 0012_device_terms
Revises: 0011_change_reports
Create Date: 2026-12-02 07:00:00

A trigram index answers "which devices contain ``kasse42``" by reading the posting lists of all
of the fragment's trigrams; ``kas`` and ``ass`` are in a fifth of a fleet, ``6.1`` in all of it.
This migration indexes the *start* of every substring instead: a device's terms are its
lower-cased text cut at every position, up to the next space and at most 64 characters (terms
shorter than three characters are left out: such fragments are not looked up as terms).  A
fragment without spaces occurs in the text exactly when some term starts with it, so a prefix
lookup finds exactly the matching devices.  Each term carries its tenant, so the lookup also
counts a tenant's matches without reading a device row.

* **SQLite**: ``device_terms``, a contentless FTS5 table (``detail=column``, one row per device,
  rowid = device id) with the ``unicode61`` tokenizer, kept by triggers.  Each term is written
  as ``<tenant id>`<term>``: a search asks for the prefix ``<tenant id>`<fragment>``, and a
  backtick in the text is written as a space, so no text can forge another tenant's prefix.
  Column ``name`` holds the name's terms, ``other`` those of identifier and system information.
  ``ix_devices_terms_sort`` (id, tenant, creation) lets a search sort its matches by creation
  without reading their rows.  A trigger cannot loop, so ``device_term_positions`` holds the numbers 1…4096 to cut at; text
  beyond that is searched by the partial index ``ix_devices_long_text``.
* **PostgreSQL**: ``device_terms``, a table of ``(tenant_id, field, term, created_at,
  device_id)`` rows (field ``n``: name; ``s``: system information) whose primary key is a btree
  in that order with ``term`` in the "C" collation, so a search is an index-only range scan that
  yields each match's device and creation time: counting and sorting by creation read no device
  row.  Statement-level triggers keep it on insert and delete (one ``INSERT … SELECT`` per
  ``COPY`` or bulk insert); a row-level trigger on the text columns on update.
  Identifiers are random, so their trigrams are rare: they stay with the trigram index.

The backfill of an existing fleet prints its progress.  ``env.py`` leaves these objects out of
``posfleet db check``.
"""

# ruff: noqa: S608 -- DDL is built from the constants in this file, never from input

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0012_device_terms"
down_revision: str | None = "0011_change_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Terms are at most this long; longer fragments are searched the way migration 0002 does.
TERM_LENGTH = 64
# Shorter terms are not written; shorter fragments are searched the way migration 0002 does.
TERM_MIN = 3
# Text is cut at positions 1..POSITIONS; longer text is found through ix_devices_long_text.
POSITIONS = 4096
# Characters that are part of a SQLite term besides letters and digits (quotes and backslash
# would need escaping inside the tokenizer's options; the backtick separates the tenant).
TOKEN_CHARS = "!#$%&()*+,-./:;<=>?@[]^_`{|}~"
BACKFILL_BATCH = 50_000


def _sqlite_terms(tenant: str, column: str) -> str:
    """The terms of ``column`` of the row ``NEW``/``OLD``/``d``, tenant-tagged, as text the
    tokenizer splits at spaces."""
    cut = f"substr(replace({column}, '`', ' '), p.n, {TERM_LENGTH})"  # the text from position n
    return (
        f"(SELECT group_concat({tenant} || '`' || t, ' ') FROM ("
        f"SELECT substr(s, 1, instr(s || ' ', ' ') - 1) AS t FROM ("
        f"SELECT {cut} AS s FROM device_term_positions p WHERE p.n <= length({column}))"
        f") WHERE length(t) >= {TERM_MIN})"
    )


def _sqlite_values(row: str) -> str:
    name = _sqlite_terms(f"{row}.tenant_id", f"{row}.name")
    identifier = _sqlite_terms(f"{row}.tenant_id", f"coalesce({row}.identifier, '')")
    system = _sqlite_terms(f"{row}.tenant_id", f"{row}.system_information")
    other = f"coalesce({identifier}, '') || ' ' || coalesce({system}, '')"
    return f"{row}.id, coalesce({name}, ''), {other}"


LONG_TEXT = (
    f"length(name) > {POSITIONS} OR length(identifier) > {POSITIONS} "
    f"OR length(system_information) > {POSITIONS}"
)

SQLITE_UP = [
    "CREATE TABLE device_term_positions (n INTEGER PRIMARY KEY)",
    f"""
    WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < {POSITIONS})
    INSERT INTO device_term_positions (n) SELECT n FROM p
    """,
    f"""
    CREATE VIRTUAL TABLE device_terms USING fts5(
      name, other, content='', detail='column', columnsize=0,
      tokenize="unicode61 remove_diacritics 0 tokenchars '{TOKEN_CHARS}'"
    )
    """,
    f"CREATE INDEX ix_devices_long_text ON devices (tenant_id) WHERE {LONG_TEXT}",
    # A search sorts its matches by creation reading this (about 20 bytes a device, written in
    # id order) instead of each match's wide row.
    "CREATE INDEX ix_devices_terms_sort ON devices (id, tenant_id, created_at)",
    f"""
    CREATE TRIGGER devices_terms_insert AFTER INSERT ON devices BEGIN
      INSERT INTO device_terms (rowid, name, other) VALUES ({_sqlite_values("NEW")});
    END
    """,
    f"""
    CREATE TRIGGER devices_terms_delete AFTER DELETE ON devices BEGIN
      INSERT INTO device_terms (device_terms, rowid, name, other)
      VALUES ('delete', {_sqlite_values("OLD")});
    END
    """,
    # Only a change of the text (or, never through the API, the tenant) rewrites the terms.
    f"""
    CREATE TRIGGER devices_terms_update
    AFTER UPDATE OF tenant_id, name, identifier, system_information ON devices
    WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.name IS NOT NEW.name
      OR OLD.identifier IS NOT NEW.identifier
      OR OLD.system_information IS NOT NEW.system_information
    BEGIN
      INSERT INTO device_terms (device_terms, rowid, name, other)
      VALUES ('delete', {_sqlite_values("OLD")});
      INSERT INTO device_terms (rowid, name, other) VALUES ({_sqlite_values("NEW")});
    END
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS devices_terms_update",
    "DROP TRIGGER IF EXISTS devices_terms_delete",
    "DROP TRIGGER IF EXISTS devices_terms_insert",
    "DROP INDEX IF EXISTS ix_devices_terms_sort",
    "DROP INDEX IF EXISTS ix_devices_long_text",
    "DROP TABLE IF EXISTS device_terms",
    "DROP TABLE IF EXISTS device_term_positions",
]


def _pg_rows(rows: str) -> str:
    """The term rows of the devices in ``rows`` (a transition table or ``devices``)."""
    return f"""
      SELECT DISTINCT d.tenant_id, f.field, t.term, d.created_at, d.id AS device_id
      FROM {rows} AS d
      CROSS JOIN LATERAL (VALUES ('n'::"char", d.name), ('s'::"char", d.system_information))
        AS f (field, body)
      CROSS JOIN LATERAL device_text_terms(f.body) AS t (term)
    """


def _pg_delete(rows: str) -> str:
    """Deletes the term rows of the devices in ``rows`` (as they were written), found by the
    primary key: the table needs no second index by device."""
    return f"""
      DELETE FROM device_terms AS d USING ({_pg_rows(rows)}) AS gone
      WHERE d.tenant_id = gone.tenant_id AND d.field = gone.field AND d.term = gone.term
        AND d.created_at = gone.created_at AND d.device_id = gone.device_id
    """


def _pg_row(record: str) -> str:
    """The row ``OLD``/``NEW`` of a row-level trigger as a one-row source for :func:`_pg_rows`."""
    columns = ("tenant_id", "name", "system_information", "created_at", "id")
    return "(SELECT " + ", ".join(f"{record}.{c} AS {c}" for c in columns) + ")"


POSTGRES_UP = [
    f"""
    CREATE FUNCTION device_text_terms(body text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT DISTINCT term
      FROM (SELECT split_part(substr(lower(body), n, {TERM_LENGTH}), ' ', 1) AS term
            FROM generate_series(1, least(length(body), {POSITIONS})) AS n) AS cut
      WHERE length(term) >= {TERM_MIN}
    $$
    """,
    """
    CREATE TABLE device_terms (
      tenant_id integer NOT NULL,
      field "char" NOT NULL,
      term text COLLATE "C" NOT NULL,
      created_at timestamp with time zone NOT NULL,
      device_id integer NOT NULL,
      CONSTRAINT pk_device_terms PRIMARY KEY (tenant_id, field, term, created_at, device_id)
    )
    """,
    f"CREATE INDEX ix_devices_long_text ON devices (tenant_id) WHERE {LONG_TEXT}",
    f"""
    CREATE FUNCTION device_terms_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO device_terms (tenant_id, field, term, created_at, device_id)
      {_pg_rows("new_rows")};
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_terms_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {_pg_delete("old_rows")};
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_terms_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      {_pg_delete(_pg_row("OLD"))};
      INSERT INTO device_terms (tenant_id, field, term, created_at, device_id)
      {_pg_rows(_pg_row("NEW"))};
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER devices_terms_insert AFTER INSERT ON devices "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION device_terms_add()",
    "CREATE TRIGGER devices_terms_delete AFTER DELETE ON devices "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION device_terms_remove()",
    # Row-level, for the text columns only: an update that does not set them (a link, a status
    # change, an activity stamp) does not even fire it.  (A statement-level trigger with
    # transition tables cannot name columns, so it would fire on every update of a device.)
    """
    CREATE TRIGGER devices_terms_update
    AFTER UPDATE OF tenant_id, name, system_information, created_at ON devices
    FOR EACH ROW
    WHEN ((OLD.tenant_id, OLD.name, OLD.system_information, OLD.created_at)
      IS DISTINCT FROM (NEW.tenant_id, NEW.name, NEW.system_information, NEW.created_at))
    EXECUTE FUNCTION device_terms_move()
    """,
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS devices_terms_update ON devices",
    "DROP TRIGGER IF EXISTS devices_terms_delete ON devices",
    "DROP TRIGGER IF EXISTS devices_terms_insert ON devices",
    "DROP FUNCTION IF EXISTS device_terms_move()",
    "DROP FUNCTION IF EXISTS device_terms_remove()",
    "DROP FUNCTION IF EXISTS device_terms_add()",
    "DROP INDEX IF EXISTS ix_devices_long_text",
    "DROP TABLE IF EXISTS device_terms",
    "DROP FUNCTION IF EXISTS device_text_terms(text)",
]


def _backfill(statement: str) -> None:
    bind = op.get_bind()
    total = bind.execute(text("SELECT count(*) FROM devices")).scalar_one()
    top = bind.execute(text("SELECT coalesce(max(id), 0) FROM devices")).scalar_one()
    done = 0
    for start in range(0, top, BACKFILL_BATCH):
        bind.execute(text(statement), {"start": start, "end": start + BACKFILL_BATCH})
        done = bind.execute(
            text("SELECT count(*) FROM devices WHERE id <= :end"),
            {"end": start + BACKFILL_BATCH},
        ).scalar_one()
        print(f"    device terms: {done:,}/{total:,} devices", flush=True)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        _backfill(
            f"INSERT INTO device_terms (rowid, name, other) SELECT {_sqlite_values('d')} "
            "FROM devices AS d WHERE d.id > :start AND d.id <= :end"
        )
        return
    for statement in POSTGRES_UP:
        op.execute(statement)
    _backfill(
        "INSERT INTO device_terms (tenant_id, field, term, created_at, device_id) "
        + _pg_rows("(SELECT * FROM devices WHERE id > :start AND id <= :end)")
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
