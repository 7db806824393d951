"""How a process learns that rows it keeps in memory changed in the database, and which.

``Changes.current()`` says whether the kept rows may be used for this request; when it says no,
the caller reads the database.  Two sources, both naming the changed rows (``<table>:<id>`` of
``devices``, ``tenants`` and, since migration 0014, ``tenant_users``; a change to what
DeviceInfo shows moves the tenant's row), so that a write to one device drops only that
device's kept rows:

* **SQLite** serves one machine.  Triggers (migration 0010) log each changed row in
  ``auth_changes`` in the transaction that changes it.  A dedicated connection asks
  ``PRAGMA data_version`` every ``SQLITE_POLL_SECONDS``; it moves whenever any other connection
  (another worker, the CLI, this process's pool) commits to the file, and the process then reads
  the log past the last id it saw and drops those rows.  The ids never go back
  (``AUTOINCREMENT``): fewer rows than ids means some were purged before this process read them,
  and everything kept is dropped.  While the poll fails ``current()`` is False, so every request
  reads the database.
* **PostgreSQL**: a dedicated connection ``LISTEN``s on ``posfleet_auth``; triggers (migration
  0007) notify ``<table>:<id>`` in the transaction that changes a row, so it arrives when the
  change commits.  Every ``EPOCH_CHECK_SECONDS`` the listener reads the ``posfleet_auth_epoch``
  sequence, which the same triggers move once per notification: when the notifications heard
  do not cover every move read at the previous check, one was lost (or its change rolled back),
  and everything kept is dropped.  While the connection is down
  ``current()`` is False, so every request reads the database, until it is back (and then
  everything kept before is dropped, for what changed meanwhile was not heard).

On both engines this process's own writes drop the rows they changed when their connection goes
back to the pool, after the commit and before the response (``watch_local_writes``), so the
replica that revokes refuses on the very next request without waiting for its own notification
or poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import structlog
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger("posfleet.changes")

CHANNEL = "posfleet_auth"
EPOCH_CHECK_SECONDS = 1.0
# How often a process asks SQLite whether another connection committed: the longest a change made
# by another process (worker, CLI) can go unseen, plus the event loop's lag (docs/security.md).
SQLITE_POLL_SECONDS = 0.01
RECONNECT_SECONDS = 0.5
_EPOCH = "SELECT last_value + is_called::int FROM posfleet_auth_epoch"
_DIRTY = "posfleet.changes.dirty"

Dropped = Callable[[str | None, int | None], None]
"""Called with (table, id) for one changed row, or (None, None) for "anything may have changed"."""


class Changes:
    def current(self) -> bool:
        raise NotImplementedError

    async def start(self) -> None:
        """Begin listening (no-op where there is nothing to listen to)."""

    async def close(self) -> None:
        """Stop listening."""


class NoChanges(Changes):
    """Nothing can be kept (an in-memory SQLite database, each connection its own)."""

    def current(self) -> bool:
        return False


class SqliteChanges(Changes):
    def __init__(self, path: str, dropped: Dropped) -> None:
        self._dropped = dropped
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._version: int | None = None
        self._seen: int | None = None  # the last auth_changes id read
        self._watching = False
        self._task: asyncio.Task[None] | None = None

    def current(self) -> bool:
        return self._watching

    def check(self) -> None:
        """Drop the rows the change log names since the last check, when the file changed."""
        # fetchall: a statement left unfinished would keep a read transaction open.
        version = int(self._connection.execute("PRAGMA data_version").fetchall()[0][0])
        if version == self._version:
            return
        self._version = version
        seen = self._seen
        # One read transaction: the rows and the highest id ever given out, from one snapshot.
        self._connection.execute("BEGIN")
        try:
            top = self._connection.execute(_LOG_TOP).fetchall()
            rows = self._connection.execute(_LOG_SINCE, (seen or 0,)).fetchall()
        finally:
            self._connection.execute("COMMIT")
        last = int(top[0][0]) if top else 0
        self._seen = last
        if seen is None or len(rows) != last - seen:
            # The first check, or rows were purged before this process read them.
            self._dropped(None, None)
            return
        for table, row_id in rows:
            self._dropped(str(table), int(row_id))

    async def start(self) -> None:
        self.check()
        self._watching = True
        self._task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(SQLITE_POLL_SECONDS)
            self.check_or_stop_trusting()

    def check_or_stop_trusting(self) -> None:
        """:meth:`check`; while it fails, nothing kept is trusted (every request reads)."""
        try:
            self.check()
        except sqlite3.Error:
            if self._watching:
                log.warning("asking SQLite for changes failed; reading the database meanwhile")
            self._watching = False
            self._version = None
            self._seen = None  # the next successful check drops everything kept
            return
        self._watching = True

    async def close(self) -> None:
        self._watching = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._connection.close()


# Migrations 0010 and 0014: triggers log each updated or deleted devices, tenants or tenant_users
# row.
_LOG_TOP = "SELECT seq FROM sqlite_sequence WHERE name = 'auth_changes'"
_LOG_SINCE = "SELECT table_name, row_id FROM auth_changes WHERE id > ? ORDER BY id"
# How many change log rows stay: a process that falls further behind drops everything it keeps.
PURGE_CHANGE_LOG = "DELETE FROM auth_changes WHERE id <= (SELECT max(id) FROM auth_changes) - 10000"


class PostgresChanges(Changes):
    def __init__(self, url: str, dropped: Dropped) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._dropped = dropped
        self._listening = False
        self._heard = 0
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    def current(self) -> bool:
        return self._listening

    @property
    def backend_pid(self) -> int | None:
        """The listening server session (tests cut it)."""
        return None if self._connection is None else self._connection.get_server_pid()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _heard_one(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._heard += 1
        table, _, key = payload.partition(":")
        if table == "all" or not key.isdigit():
            self._dropped(None, None)
        else:
            self._dropped(table, int(key))

    def _lost(self, _conn: object) -> None:
        self._listening = False

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("listening for changes failed; reading the database meanwhile")
            finally:
                self._listening = False
                if self._connection is not None:
                    self._connection.terminate()
                    self._connection = None
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=10)
        self._connection = connection
        connection.add_termination_listener(self._lost)
        await connection.add_listener(CHANNEL, self._heard_one)
        # ``self._heard`` counts the notifications of the epoch's moves past ``base``: each
        # notification moves it by one, in the transaction that sends it (migration 0011).
        base = await connection.fetchval(_EPOCH, timeout=EPOCH_CHECK_SECONDS * 5)
        self._heard = 0
        # Whatever changed while nobody listened was not heard.
        self._dropped(None, None)
        self._listening = True
        previous = base
        while not connection.is_closed():
            await asyncio.sleep(EPOCH_CHECK_SECONDS)
            now = await connection.fetchval(_EPOCH, timeout=EPOCH_CHECK_SECONDS * 5)
            # A move can be read before its notification arrives: its transaction had not
            # committed yet.  Every move read at the previous check, a period ago, has been
            # heard by now, unless its notification was lost or its transaction rolled back.
            if base + self._heard < previous:
                self._dropped(None, None)
                base, self._heard = now, 0
            else:
                # Late notifications of moves forgiven by a drop must not cover later ones.
                self._heard = min(self._heard, now - base)
            previous = now


_WROTE = "posfleet.changes.wrote"
_READ_WRITTEN = (
    "SELECT current_setting('posfleet.auth_changed', true), "
    "set_config('posfleet.auth_changed', '', false)"
)


def watch_local_writes(
    engine: AsyncEngine, tables: tuple[str, ...], changes: Changes, dropped: Dropped
) -> None:
    """Drop the kept rows a connection of this process changed when it returns to the pool.

    Returned after the commit (or rollback) and before the response is sent, so the next
    request of this process never sees what this one changed.  Only those rows: a write to one
    device leaves every other device's kept rows in place.

    * SQLite: the change log (migration 0010) is read at once, as the poll would read it.
    * PostgreSQL: right after each statement that may have changed a row, the connection reads
      (and empties) the list the triggers keep in its session (migration 0010).
    """
    postgres = engine.dialect.name == "postgresql"

    def after_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:6].upper().startswith("SELECT") or not any(
            table in statement for table in tables
        ):
            return
        if not postgres:
            conn.info[_DIRTY] = True
            return
        reader = conn.connection.cursor()
        try:
            reader.execute(_READ_WRITTEN)
            listed = reader.fetchall()[0][0] or ""
        finally:
            reader.close()
        if listed:
            conn.info.setdefault(_WROTE, []).append(listed)

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_DIRTY, False):
            if isinstance(changes, SqliteChanges):
                changes.check_or_stop_trusting()
            else:
                dropped(None, None)
        for listed in record.info.pop(_WROTE, ()):
            for item in listed.split(","):
                table, _, key = item.partition(":")
                if table == "all" or not key.isdigit():
                    dropped(None, None)
                else:
                    dropped(table, int(key))

    event.listen(engine.sync_engine, "after_cursor_execute", after_execute)
    event.listen(engine.sync_engine.pool, "checkin", checkin)


def changes_for(engine: AsyncEngine, url: str, dropped: Dropped) -> Changes:
    if engine.dialect.name == "sqlite":
        path = make_url(url).database
        if not path or path == ":memory:":
            return NoChanges()
        return SqliteChanges(path, dropped)
    return PostgresChanges(url, dropped)
