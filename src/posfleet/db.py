"""Engine and session scope.  Commit and rollback live here and nowhere else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from posfleet.config import Settings
from posfleet.errors import AppError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


log = structlog.get_logger("posfleet.db")

READONLY = "posfleet_readonly"


def _sqlite_begin(conn: Any) -> None:
    # A deferred SQLite transaction that reads and then writes fails with "database is locked"
    # when another writer committed in between, and busy_timeout cannot help it.  Writing units of
    # work therefore take the write lock up front (BEGIN IMMEDIATE) and queue behind each other;
    # read-only units stay deferred so that they never wait for a writer (WAL).
    if conn.get_execution_options().get(READONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    if settings.is_sqlite:
        engine = create_async_engine(
            url,
            echo=settings.database_echo,
            connect_args={"timeout": 30},
            poolclass=NullPool if ":memory:" in url else None,
        )
        sync_engine: Engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_pragmas)

        @event.listens_for(sync_engine, "connect")
        def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        event.listen(sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        echo=settings.database_echo,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
    )


def create_sessionmaker(
    engine: AsyncEngine, *, readonly: bool = False, per_statement: bool = False
) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work; ``readonly`` ones never take SQLite's write lock.

    ``per_statement`` sessions commit every statement on its own (PostgreSQL AUTOCOMMIT): no
    BEGIN and COMMIT round trips, for requests whose reads need no common snapshot (READ
    COMMITTED gives each statement its own anyway) and whose every write stands alone.  On
    SQLite, where a transaction costs no round trip, they are ordinary units of work.
    """
    options: dict[str, Any] = {}
    if readonly:
        options[READONLY] = True
    if per_statement and engine.dialect.name != "sqlite":
        options["isolation_level"] = "AUTOCOMMIT"
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
            await session.commit()
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
