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

Triggers on both engines keep the counts on insert, delete and a change of the text or tenant.
On PostgreSQL they queue the changed devices in ``device_term_count_changes``, and a trigger
deferred to the commit counts a transaction's queue at once (one upsert per term, however many
devices one transaction or ``COPY`` writes).  The backfill of an existing fleet prints its
progress; at a million devices it took about 12 minutes (460 MB) on SQLite and 10 minutes on
PostgreSQL.  ``env.py`` leaves the tables out of ``posfleet db check``.
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


# The two characters outside ASCII that the FTS5 ``unicode61`` tokenizer of migration 0012 folds
# into ASCII letters (KELVIN SIGN to k, LATIN SMALL LETTER LONG S to s), folded the same way here
# so that the counts agree with what the term table finds; lower() folds ASCII only.
FOLDED = (("\u212a", "k"), ("\u017f", "s"))


def sqlite_folded(expression: str) -> str:
    for char, ascii_letter in FOLDED:
        expression = f"replace({expression}, '{char}', '{ascii_letter}')"
    return expression


def _sqlite_cuts(source: str, column: str) -> str:
    """The lower-cased terms of ``column`` of the devices ``source`` selects, with their tenant
    and id (duplicates kept).  Trigger bodies take no CTE: the source is repeated inline."""
    spaced = sqlite_folded(f"replace({column}, '`', ' ')")
    cut = f"substr({spaced}, p.n, {TERM_LENGTH})"
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
    """Takes the device ``record`` out of the counts: an upsert of minus its rows (each a seek by
    the primary key), then its terms' rows no device counts any more go.  (A ``WHERE (key) IN
    (…)`` on the whole key would be planned as a scan of the tenant's rows.)"""
    rows = _sqlite_rows(_sqlite_row(record))
    return (
        f"INSERT INTO device_term_counts ({KEY}, devices) "
        f"SELECT {KEY}, -devices FROM ({rows}) WHERE true "
        f"ON CONFLICT ({KEY}) DO UPDATE SET devices = devices + excluded.devices;\n"
        f"DELETE FROM device_term_counts WHERE tenant_id = {record}.tenant_id "
        f"AND field IN ('n', 'a') AND term IN (SELECT term FROM ({rows})) AND devices <= 0;"
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


def _pg_rows(rows: str, sign: str = "1") -> str:
    """``(tenant_id, field, term, shared, devices)`` of the devices in ``rows`` (columns
    tenant_id, id, name, identifier, system_information; ``id`` unique per row), grouped by
    everything but devices, each row counted as ``sign`` (a column of ``rows``, or 1)."""
    return f"""
      SELECT tenant_id, field, term,
             CASE WHEN prev IS NULL OR left(prev, 3) <> left(term, 3) THEN 0
                  ELSE device_terms_shared(prev, term) END AS shared,
             sum(sign)::integer AS devices
      FROM (
        SELECT d.tenant_id, {sign} AS sign, f.field, f.term,
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


def _pg_add(rows: str, sign: str = "1") -> str:
    return f"""
      INSERT INTO device_term_counts AS c ({KEY}, devices)
      SELECT * FROM ({_pg_rows(rows, sign)}) AS delta WHERE devices <> 0
      ORDER BY {KEY}
      ON CONFLICT ({KEY}) DO UPDATE SET devices = c.devices + excluded.devices
    """


# The queue as rows for _pg_rows: each entry its own id, so two versions of one device (a
# change of its text, or two) are cut into terms apart.
QUEUED = (
    "(SELECT id, tenant_id, sign, name, identifier, system_information "
    "FROM device_term_count_changes)"
)
QUEUE_COLUMNS = "device_id, tenant_id, sign, name, identifier, system_information"

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
    # A transaction's changed devices wait here until it commits, when they are counted at once.
    # Counting each statement's devices as it runs would update the counts of common terms
    # (``linux``, ``x86_64``) once per created device, and PostgreSQL follows every earlier
    # version of a row that one transaction updated again and again: an import creating
    # thousands of devices in one transaction would slow down quadratically.
    """
    CREATE TABLE device_term_count_changes (
      id bigint GENERATED ALWAYS AS IDENTITY,
      device_id integer NOT NULL,
      tenant_id integer NOT NULL,
      sign smallint NOT NULL,
      name text NOT NULL,
      identifier text,
      system_information text NOT NULL,
      CONSTRAINT pk_device_term_count_changes PRIMARY KEY (id)
    )
    """,
    f"""
    CREATE FUNCTION device_term_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO device_term_count_changes ({QUEUE_COLUMNS})
      SELECT id, tenant_id, 1, name, identifier, system_information FROM new_rows;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_term_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO device_term_count_changes ({QUEUE_COLUMNS})
      SELECT id, tenant_id, -1, name, identifier, system_information FROM old_rows;
      RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION device_term_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO device_term_count_changes ({QUEUE_COLUMNS})
      VALUES (OLD.id, OLD.tenant_id, -1, OLD.name, OLD.identifier, OLD.system_information),
             (NEW.id, NEW.tenant_id, 1, NEW.name, NEW.identifier, NEW.system_information);
      RETURN NULL;
    END $$
    """,
    # Deferred to the commit, once per queued row: the first call of a transaction counts every
    # change it queued (only its own rows are visible: each transaction empties the queue before
    # it commits), the later calls find their row gone.
    f"""
    CREATE FUNCTION device_term_counts_apply() RETURNS trigger LANGUAGE plpgsql
    -- The planner's guesses for the queue and the term functions pass JIT's cost threshold, and
    -- compiling cost a commit 20-250 ms: far more than the counting itself.
    SET jit = off AS $$
    DECLARE
      tenants integer[];
      fields "char"[];
      terms text[] COLLATE "C";
      shares smallint[];
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM device_term_count_changes WHERE id = NEW.id) THEN
        RETURN NULL;
      END IF;
      WITH counted AS (
        {_pg_add(QUEUED, "d.sign")}
        RETURNING c.tenant_id, c.field, c.term, c.shared, c.devices
      )
      SELECT array_agg(tenant_id), array_agg(field), array_agg(term), array_agg(shared)
      INTO tenants, fields, terms, shares
      FROM counted WHERE devices <= 0;
      -- Rows no device counts any more go, one by its key at a time: a join of the changed
      -- terms to the table could be planned as a scan of all of it.
      FOR i IN 1 .. coalesce(array_length(tenants, 1), 0) LOOP
        DELETE FROM device_term_counts
        WHERE tenant_id = tenants[i] AND field = fields[i] AND term = terms[i]
          AND shared = shares[i] AND devices <= 0;
      END LOOP;
      DELETE FROM device_term_count_changes;
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
    "CREATE CONSTRAINT TRIGGER device_term_counts_apply AFTER INSERT ON device_term_count_changes "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION device_term_counts_apply()",
]

POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS devices_term_counts_update ON devices",
    "DROP TRIGGER IF EXISTS devices_term_counts_delete ON devices",
    "DROP TRIGGER IF EXISTS devices_term_counts_insert ON devices",
    "DROP TABLE IF EXISTS device_term_count_changes",
    "DROP FUNCTION IF EXISTS device_term_counts_apply()",
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
