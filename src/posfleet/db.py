"""Engine and session scope.  Commit and rollback live here and nowhere else."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
from sqlalchemy import Executable, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Connection, CursorResult, Engine, Row, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.util.concurrency import await_only, in_greenlet

from posfleet.config import Settings
from posfleet.errors import AppError, ServerBusy
from posfleet.kit.sqlite_async import one_hop_connector


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


log = structlog.get_logger("posfleet.db")

READONLY = "posfleet_readonly"
PER_STATEMENT = "posfleet_per_statement"


def _sqlite_begin(conn: Any) -> None:
    # A deferred SQLite transaction that reads and then writes fails with "database is locked"
    # when another writer committed in between, and busy_timeout cannot help it.  Read-only
    # units are deferred transactions, so they never wait for a writer (WAL).  Writing units
    # take the write lock (BEGIN IMMEDIATE) only at their first write: their reads before it run
    # each on its own snapshot, as every statement does under PostgreSQL's READ COMMITTED, so
    # that a unit of work does not hold the one write lock through its reads and password
    # checks.  Spends stay exact: they are conditional UPDATEs checked by row count.
    options = conn.get_execution_options()
    if options.get(READONLY):
        conn.info.pop(_BEGIN_AT_FIRST_WRITE, None)
        if not options.get(PER_STATEMENT):
            conn.exec_driver_sql("BEGIN")
        # else each statement is a read transaction of its own (sqlite3's autocommit mode), as
        # under PostgreSQL's AUTOCOMMIT: no hand-off to the connection's thread for BEGIN.
    else:
        conn.info[_BEGIN_AT_FIRST_WRITE] = True


_BEGIN_AT_FIRST_WRITE = "posfleet.begin_at_first_write"
_READS = ("SELECT", "WITH", "PRAGMA", "EXPLAIN")


# How long a unit of work of this process waits for its turn to write to a SQLite file before
# it is answered 429 ``server_busy`` (the same bound SQLite's busy timeout puts on other processes).
WRITE_QUEUE_SECONDS = 10.0
WRITE_QUEUE_RETRY_AFTER_SECONDS = 1
_HOLDS_WRITE_TURN = "posfleet.holds_write_turn"


class WriteQueue:
    """This process's writers of one SQLite file, in arrival order.

    SQLite has one write lock per file, and a connection that finds it taken sleeps in its busy
    handler and polls.  Writers of one process met there: each statement of the holder is several
    hand-offs to aiosqlite's thread, the pollers' sleeps grow, and under load a writer could run
    out of busy timeout ("database is locked", a 500).  Here a unit of work takes its turn on an
    asyncio lock (first come, first served) just before its ``BEGIN IMMEDIATE`` and gives it back
    at commit or rollback, so writers of this process never meet inside SQLite; the busy timeout
    is left to other processes (the CLI, ``posfleet worker``).  A unit of work never opens a
    second writing unit of work while it holds the turn (which would wait for itself).
    """

    def __init__(self) -> None:
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._holder: asyncio.Task[Any] | None = None

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            # One engine per event loop in practice; tests open and close loops.
            self._locks = {k: v for k, v in self._locks.items() if not k.is_closed()}
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def take(self, info: dict[Any, Any]) -> None:
        """Wait (in the unit of work's greenlet) for this connection's turn to write."""
        if not in_greenlet():  # a plain synchronous caller (migrations): SQLite's own lock only
            return
        lock = self._lock()
        task = asyncio.current_task()
        if lock.locked() and self._holder is task:
            raise RuntimeError("a unit of work opened a second writing unit of work")
        try:
            await_only(asyncio.wait_for(lock.acquire(), WRITE_QUEUE_SECONDS))
        except TimeoutError:
            raise _server_busy() from None
        self._holder = task
        info[_HOLDS_WRITE_TURN] = (self, lock)

    async def wait_turn(self) -> asyncio.Lock:
        """Wait (on the event loop) for a turn to write; give it back with :meth:`end_turn`."""
        lock = self._lock()
        if lock.locked():
            try:
                await asyncio.wait_for(lock.acquire(), WRITE_QUEUE_SECONDS)
            except TimeoutError:
                raise _server_busy() from None
        else:
            await lock.acquire()  # free: taken at once, without a timer
        self._holder = asyncio.current_task()
        return lock

    def end_turn(self, lock: asyncio.Lock) -> None:
        self._holder = None
        if lock.locked():
            lock.release()

    @staticmethod
    def give_back(info: dict[Any, Any]) -> None:
        held = info.pop(_HOLDS_WRITE_TURN, None)
        if held is not None:
            queue, lock = held
            queue._holder = None
            if lock.locked():
                lock.release()


def _server_busy() -> ServerBusy:
    return ServerBusy(
        "The server is busy writing; try again in a moment",
        retry_after=WRITE_QUEUE_RETRY_AFTER_SECONDS,
    )


def _sqlite_before_execute(
    conn: Any, cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
) -> None:
    if conn.info.get(_BEGIN_AT_FIRST_WRITE) and not statement.lstrip()[:7].upper().startswith(
        _READS
    ):
        del conn.info[_BEGIN_AT_FIRST_WRITE]
        _write_queue(conn).take(conn.info)
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except BaseException:
            WriteQueue.give_back(conn.info)
            raise


# One queue per SQLite engine, found from its pool (engines with other execution options share it).
_WRITE_QUEUES: weakref.WeakKeyDictionary[Any, WriteQueue] = weakref.WeakKeyDictionary()


def _write_queue(conn: Any) -> WriteQueue:
    return _WRITE_QUEUES[conn.engine.pool]


def _sqlite_end(conn: Any) -> None:
    conn.info.pop(_BEGIN_AT_FIRST_WRITE, None)
    WriteQueue.give_back(conn.info)


def _sqlite_returned(_dbapi_connection: Any, record: Any) -> None:
    # A connection that goes back to the pool (or is closed, or invalidated) without a commit or
    # rollback event still gives back its turn.
    WriteQueue.give_back(record.info)


def _sqlite_reset(dbapi_connection: Any, record: Any, _reset_state: Any) -> None:
    _sqlite_returned(dbapi_connection, record)


def _sqlite_invalidated(dbapi_connection: Any, record: Any, _exception: Any) -> None:
    _sqlite_returned(dbapi_connection, record)


def _asyncpg_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # Instead of a ping per checkout (a round trip, and on asyncpg three): a connection whose
    # server session ended (restart, failover, pg_terminate_backend) has seen its socket close
    # by the time it is checked out again, which asyncpg records locally.  The pool then opens a
    # fresh one, so the requests that follow never get the dead one; only a statement that was
    # in flight when the session ended fails (and that invalidates the rest of the pool).
    raw = getattr(dbapi_connection, "_connection", None)
    if raw is not None and raw.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if settings.is_sqlite:
        args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
        engine = create_async_engine(
            url,
            echo=settings.database_echo,
            # aiosqlite connections that run each statement in one hand-off to their thread.
            async_creator=one_hop_connector(*args, **{**kwargs, "timeout": 30}),
            poolclass=NullPool if ":memory:" in url else None,
        )
        sync_engine: Engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)

        @event.listens_for(sync_engine, "connect")
        def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        event.listen(sync_engine, "begin", _sqlite_begin)
        event.listen(sync_engine, "before_cursor_execute", _sqlite_before_execute)
        event.listen(sync_engine, "commit", _sqlite_end)
        event.listen(sync_engine, "rollback", _sqlite_end)
        _WRITE_QUEUES[sync_engine.pool] = WriteQueue()
        event.listen(sync_engine.pool, "reset", _sqlite_reset)
        event.listen(sync_engine.pool, "checkin", _sqlite_returned)
        event.listen(sync_engine.pool, "close", _sqlite_returned)
        event.listen(sync_engine.pool, "invalidate", _sqlite_invalidated)
        return engine
    # A fixed pool: connections beyond it would be opened and closed again under every burst
    # (a server process each on PostgreSQL); a request beyond it waits for one instead.
    engine = create_async_engine(
        url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_timeout=settings.database_pool_timeout_seconds,
    )
    event.listen(engine.sync_engine.pool, "checkout", _asyncpg_alive)
    return engine


# A read on the event loop may wait this long for SQLite (a WAL reader waits only in rare cases,
# such as another connection recovering the WAL index); past it, the caller reads through the pool.
READER_BUSY_MILLISECONDS = 50


def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute(f"PRAGMA busy_timeout={READER_BUSY_MILLISECONDS}")
    cursor.close()


def create_reader(settings: Settings) -> Engine | None:
    """On a SQLite file: one plain (not async) connection for single-statement reads of hot
    routes, run on the event loop.

    Through the pool each statement is a hand-off to the connection's thread and back
    (:mod:`posfleet.kit.sqlite_async`), and on a loaded event loop a hand-off waits for the
    interpreter lock: a read of a few microseconds could cost milliseconds.  A WAL reader never
    waits for the writer, so running it in place is cheaper than handing it off.  Read-only
    (``query_only``).  None elsewhere (PostgreSQL is a round trip: it stays async).
    """
    if not _is_sqlite_file(settings):
        return None
    return _one_connection(settings, _reader_pragmas)


def _is_sqlite_file(settings: Settings) -> bool:
    url = make_url(settings.database_url)
    return settings.is_sqlite and bool(url.database) and url.database != ":memory:"


def _one_connection(settings: Settings, pragmas: Any, **connect_args: Any) -> Engine:
    """A plain (not async) engine of one connection to the SQLite file, set up by ``pragmas``."""
    engine = create_sync_engine(
        make_url(settings.database_url).set(drivername="sqlite"),
        echo=settings.database_echo,
        pool_size=1,
        max_overflow=0,
        connect_args={"check_same_thread": False, **connect_args},
    )
    event.listen(engine, "connect", pragmas)
    return engine


T = TypeVar("T")
WriteJob = Callable[[Connection], T]
"""Statements that stand alone as one unit of work, run on :class:`SqliteWriter`'s thread."""


class SqliteWriter:
    """On a SQLite file: one plain (not async) connection on a thread of its own, for the short
    writes of hot routes (a refresh token's last-used stamp), committed in groups.

    Through an async session a one-statement write cost about as much as the rest of the
    request: the ORM's unit of work, and a hand-off to the connection's thread and back for each
    of BEGIN IMMEDIATE, the statement, COMMIT and the pool's reset.  Here a caller
    hands its whole unit of work (:data:`WriteJob`) over once and awaits it.  Every job waiting
    when the thread is free goes in one ``BEGIN IMMEDIATE`` … ``COMMIT``, each job inside a
    savepoint of its own: a job that raises is rolled back alone and its caller gets the
    error, the others commit.  A caller is answered only after the commit, which is as durable
    as any other commit of the process (the same ``journal_mode`` and ``synchronous``).

    A group takes this process's write turn (:class:`WriteQueue`) like any unit of work, so it
    never meets the pool's writers inside SQLite, and callers waiting longer than the queue's
    bound are answered 429 ``server_busy``.  Writes to ``watched`` tables call ``written`` on
    the event loop after their commit and before any caller is answered (kit/changes.py: the
    kept rows they changed are dropped before the next request).
    """

    def __init__(self, engine: Engine, queue: WriteQueue, reads: Engine) -> None:
        self._engine = engine
        self._queue = queue
        self._reads = reads
        self._reading: Connection | None = None  # the event loop's; opened on first use
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="posfleet-sqlite-writer")
        self._connection: Connection | None = None  # the thread's; opened on first use
        self._waiting: list[tuple[WriteJob[Any], asyncio.Future[Any]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._watched: tuple[str, ...] = ()
        self._written: Callable[[], None] | None = None
        self._dirty = False  # the thread's: the group wrote to a watched table
        event.listen(engine, "after_cursor_execute", self._noticed)

    @property
    def engine(self) -> Engine:
        return self._engine

    def watch(self, tables: tuple[str, ...], written: Callable[[], None]) -> None:
        self._watched = tables
        self._written = written

    def _noticed(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self._dirty and any(table in statement for table in self._watched):
            self._dirty = not statement.lstrip()[:6].upper().startswith("SELECT")

    def read(self, statement: Executable, params: dict[str, Any]) -> Row[Any] | None:
        """The first row of a read that comes before a write (a refresh token's lookup), in
        place on the event loop, on a read-only connection that stays open (a WAL reader never
        waits for the writer; checking a connection out of a pool per read cost as much as the
        read).  Raises ``OperationalError`` when SQLite is busy past ``READER_BUSY_MILLISECONDS``
        (rare: another connection recovering the WAL index); :meth:`run` may then do the read.
        """
        if self._reading is None:
            self._reading = self._reads.connect()
        try:
            # first() closes the cursor: the statement's read transaction ends with it.
            row: Row[Any] | None = self._reading.execute(statement, params).first()
        except BaseException:
            reading, self._reading = self._reading, None
            reading.close()
            raise
        return row

    async def run(self, job: WriteJob[T]) -> T:
        """Run ``job`` in a transaction (shared with the other jobs of its group) and return
        what it returned once that transaction has committed."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._waiting.append((job, answer))
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write_groups())
        return await answer

    async def _write_groups(self) -> None:
        loop = asyncio.get_running_loop()
        group: list[tuple[WriteJob[Any], asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                try:
                    turn = await self._queue.wait_turn()
                except ServerBusy:
                    group, self._waiting = self._waiting, []
                    _answer_all(group, _server_busy)
                    continue
                # Everything that came while this waited for its turn joins the group.
                group, self._waiting = self._waiting, []
                try:
                    dirty, results = await loop.run_in_executor(
                        self._thread, self._write, [job for job, _ in group]
                    )
                except Exception as exc:  # the group's transaction failed: nothing committed
                    _answer_all(group, exc)
                    continue
                finally:
                    self._queue.end_turn(turn)
                if dirty and self._written is not None:
                    self._written()
                for (_, answer), (ok, result) in zip(group, results, strict=True):
                    if not answer.done():
                        if ok:
                            answer.set_result(result)
                        else:
                            answer.set_exception(result)
                group = []
        except BaseException:  # cancelled (the loop is closing): nobody may wait forever
            _answer_all([*group, *self._waiting], _gone)
            self._waiting = []
            raise

    def _write(self, jobs: Sequence[WriteJob[Any]]) -> tuple[bool, list[tuple[bool, Any]]]:
        """One group, on the writer's thread: (whether a watched table was written, and per
        job (True, its result) or (False, its exception))."""
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        driver = connection.connection.driver_connection
        assert driver is not None
        self._dirty = False
        results: list[tuple[bool, Any]] = []
        try:
            driver.execute("BEGIN IMMEDIATE")
            for job in jobs:
                driver.execute("SAVEPOINT job")
                try:
                    results.append((True, job(connection)))
                except Exception as exc:
                    driver.execute("ROLLBACK TO job")
                    results.append((False, exc))
                driver.execute("RELEASE job")
            connection.commit()  # SQLAlchemy's transaction, begun by the jobs' first statement
            if driver.in_transaction:
                driver.execute("COMMIT")
        except BaseException:
            connection.rollback()
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
        return self._dirty, results

    async def close(self) -> None:
        """Finish the groups under way and close the connection."""
        if self._writing is not None and not self._writing.done():
            await asyncio.wait([self._writing])
        if self._connection is not None:  # else the thread never started: nothing to close
            await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)
        self._engine.dispose()
        if self._reading is not None:
            self._reading.close()
            self._reading = None
        self._reads.dispose()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _gone() -> Exception:
    return RuntimeError("the write was cancelled before it committed")


def _answer_all(
    waiting: Sequence[tuple[Any, asyncio.Future[Any]]],
    error: Exception | Callable[[], Exception],
) -> None:
    for _, answer in waiting:
        if not answer.done():
            answer.set_exception(error if isinstance(error, Exception) else error())


def _writer_pragmas(dbapi_connection: Any, _record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, _record)
    # Transactions are begun explicitly (BEGIN IMMEDIATE), never by the driver.
    dbapi_connection.isolation_level = None


def create_writer(settings: Settings, engine: AsyncEngine) -> SqliteWriter | None:
    """On a SQLite file, the :class:`SqliteWriter` sharing ``engine``'s write queue; else None
    (PostgreSQL writes are a round trip each way: they stay async)."""
    if not _is_sqlite_file(settings):
        return None
    sync = _one_connection(settings, _writer_pragmas, timeout=30)
    reads = _one_connection(settings, _reader_pragmas)
    return SqliteWriter(sync, _write_queue_of(engine), reads)


def _write_queue_of(engine: AsyncEngine) -> WriteQueue:
    return _WRITE_QUEUES[engine.sync_engine.pool]


def create_sessionmaker(
    engine: AsyncEngine, *, readonly: bool = False, per_statement: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work; ``readonly`` ones never take SQLite's write lock.

    ``per_statement`` sessions commit every statement on its own (PostgreSQL AUTOCOMMIT): no
    BEGIN and COMMIT round trips, for requests whose reads need no common snapshot (READ
    COMMITTED gives each statement its own anyway) and whose every write stands alone.  On
    SQLite ``readonly`` ones run each statement in a read transaction of its own too (no BEGIN
    hand-off to the connection's thread); writing ones are ordinary units of work, holding the
    write lock from their first write.
    """
    options: dict[str, Any] = {}
    if readonly:
        options[READONLY] = True
    if per_statement and engine.dialect.name != "sqlite":
        options["isolation_level"] = "AUTOCOMMIT"
    elif per_statement and readonly:
        options[PER_STATEMENT] = True
    bind = engine.execution_options(**options) if options else engine
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


def affected_rows(result: object) -> int:
    """How many rows an UPDATE or DELETE touched: how single-use things are spent exactly once
    (``UPDATE … WHERE state = 'LIVE'`` and a check that it changed one row)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the result of an UPDATE or DELETE, got {type(result).__name__}")
    return int(result.rowcount or 0)


_AFTER_ROLLBACK = "posfleet.after_rollback"
AfterRollback = Callable[[AsyncSession], Awaitable[None]]


def on_rollback(session: AsyncSession, work: AfterRollback) -> None:
    """Have ``work`` done in a transaction of its own should this unit of work roll back.

    For facts that stand whatever becomes of the request, such as an attempt charged to a rate
    limit: the request's own transaction keeps them when it commits, this keeps them otherwise.
    """
    session.info.setdefault(_AFTER_ROLLBACK, []).append(work)


_AFTER_COMMIT = "posfleet.after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` once this unit of work has committed (and never if it rolls back):
    for waking whoever acts on the committed rows, such as the outbox worker."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _committed(session: AsyncSession) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits when the block succeeds, rolls back when it raises.

    An :class:`AppError` with ``keeps_work`` set commits before it propagates; work registered
    with :func:`on_rollback` is redone after any rollback.
    """
    async with sessionmaker() as session:
        try:
            yield session
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await session.commit()
            # else nothing began and nothing waits to be written: committing is a no-op (and a
            # hand-off to SQLAlchemy's greenlet), as on a hot route whose reads ran elsewhere.
            _committed(session)
        except AppError as exc:
            if exc.keeps_work:
                await session.commit()
                _committed(session)
            else:
                await _roll_back(session, sessionmaker)
            raise
        except BaseException:
            await _roll_back(session, sessionmaker)
            raise
        finally:
            session.info.pop(_AFTER_ROLLBACK, None)
            session.info.pop(_AFTER_COMMIT, None)


async def _roll_back(session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await session.rollback()
    for work in session.info.pop(_AFTER_ROLLBACK, []):
        try:
            async with sessionmaker() as own:
                await work(own)
                await own.commit()
        except Exception:  # the request's own error is the one to answer with
            log.warning("work kept across a rollback failed", exc_info=True)
