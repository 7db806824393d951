"""The SQLite writer (db.SqliteWriter): short writes of hot routes handed to one thread and
committed in groups, each write in a savepoint of its own, in turn with the pool's writers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet import db
from posfleet.db import (
    SqliteWriter,
    create_engine,
    create_sessionmaker,
    create_writer,
    session_scope,
)
from posfleet.errors import TooManyRequests
from posfleet.kit import changes
from posfleet.runtime import Runtime
from tests.flow.device.support import bearer, link, world

_CREATE = "CREATE TABLE IF NOT EXISTS writer_probe (n INTEGER NOT NULL)"


@pytest.fixture
async def scratch(
    runtime: Runtime, backend: str, tmp_path: Path
) -> AsyncIterator[tuple[Any, SqliteWriter]]:
    """A SQLite file of the test's own, its async engine and its writer."""
    if backend != "sqlite":
        pytest.skip("the writer serves SQLite files only")
    settings = runtime.settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}"}
    )
    engine = create_engine(settings)
    writer = create_writer(settings, engine)
    assert writer is not None
    async with session_scope(create_sessionmaker(engine)) as session:
        await session.execute(text(_CREATE))
    try:
        yield engine, writer
    finally:
        await writer.close()
        await engine.dispose()


def _insert(n: int) -> Any:
    def job(connection: Connection) -> int:
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (:n)"), {"n": n})
        return n

    return job


def _slow(connection: Connection) -> None:
    connection.execute(text("INSERT INTO writer_probe (n) VALUES (-1)"))
    time.sleep(0.2)  # the thread is busy: the writes that come meanwhile wait together


async def _rows(engine: Any) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT n FROM writer_probe ORDER BY n"))
        return [int(n) for (n,) in rows]


def _count_commits(writer: SqliteWriter) -> list[int]:
    commits: list[int] = []
    event.listen(writer.engine, "commit", lambda _conn: commits.append(1))
    return commits


async def test_a_sqlite_file_s_runtime_writes_refresh_stamps_through_a_writer(
    runtime: Runtime, backend: str
) -> None:
    """On a SQLite file the runtime has a writer; on PostgreSQL it has none."""
    assert (runtime.writer is not None) == (backend == "sqlite")


async def test_writes_that_wait_together_commit_in_one_transaction(
    scratch: tuple[Any, SqliteWriter],
) -> None:
    """Writes handed over while the thread is busy commit together in one transaction, and
    each caller gets its own job's result once that transaction has committed."""
    engine, writer = scratch
    commits = _count_commits(writer)
    first = asyncio.create_task(writer.run(_slow))
    await asyncio.sleep(0.05)
    results = await asyncio.gather(*(writer.run(_insert(n)) for n in range(20)))
    await first
    assert results == list(range(20))
    assert await _rows(engine) == [-1, *range(20)]
    assert len(commits) == 2


async def test_a_write_that_fails_is_rolled_back_alone(
    scratch: tuple[Any, SqliteWriter],
) -> None:
    """A job that raises in a group is undone and its caller gets the error; the other jobs
    of the group commit."""
    engine, writer = scratch

    def failing(connection: Connection) -> None:
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (100)"))
        connection.execute(text("INSERT INTO writer_probe (n) VALUES (NULL)"))  # NOT NULL

    first = asyncio.create_task(writer.run(_slow))
    await asyncio.sleep(0.05)
    outcomes = await asyncio.gather(
        writer.run(_insert(1)), writer.run(failing), writer.run(_insert(2)), return_exceptions=True
    )
    await first
    assert outcomes[0] == 1
    assert outcomes[2] == 2
    assert "NOT NULL" in str(outcomes[1])
    assert await _rows(engine) == [-1, 1, 2]


async def test_a_write_waiting_past_the_queue_s_bound_is_answered_server_busy(
    scratch: tuple[Any, SqliteWriter], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer takes the process's write turn like any unit of work: while another unit of
    work holds it past the bound, a write fails with 429 server_busy; after, it commits."""
    engine, writer = scratch
    monkeypatch.setattr(db, "WRITE_QUEUE_SECONDS", 0.1)
    holder_writing = asyncio.Event()

    async def holder() -> None:
        async with session_scope(create_sessionmaker(engine)) as session:
            await session.execute(text("INSERT INTO writer_probe (n) VALUES (7)"))
            holder_writing.set()
            await asyncio.sleep(0.5)

    holding = asyncio.create_task(holder())
    await holder_writing.wait()
    with pytest.raises(TooManyRequests) as refused:
        await writer.run(_insert(8))
    assert refused.value.code == "server_busy"
    await holding
    assert await writer.run(_insert(9)) == 9
    assert await _rows(engine) == [7, 9]


async def test_a_write_to_a_watched_table_is_announced_before_its_caller_is_answered(
    scratch: tuple[Any, SqliteWriter],
) -> None:
    """Kept rows are dropped in time: the announcement comes after the commit (another
    connection already sees the row) and before the caller resumes, and only for writes to a
    watched table."""
    engine, writer = scratch
    seen: list[int] = []

    def announced() -> None:
        with contextlib.closing(sqlite3.connect(engine.url.database)) as other:
            seen.append(other.execute("SELECT count(*) FROM writer_probe").fetchone()[0])

    writer.watch(("writer_probe",), announced)
    await writer.run(_insert(1))
    assert seen == [1]
    await writer.run(lambda c: c.execute(text("SELECT count(*) FROM writer_probe")).scalar())
    await writer.run(lambda c: c.execute(text("CREATE TABLE IF NOT EXISTS other (n INTEGER)")))
    assert seen == [1]


async def test_the_writer_commits_as_durably_as_the_pool(
    scratch: tuple[Any, SqliteWriter],
) -> None:
    """The writer's connection runs with the pool's journal mode and synchronous setting, so
    its commits survive what the pool's survive."""
    engine, writer = scratch
    pragmas = "SELECT * FROM pragma_journal_mode, pragma_synchronous"
    async with engine.connect() as connection:
        pooled = tuple((await connection.execute(text(pragmas))).one())
    on_writer = await writer.run(lambda c: tuple(c.execute(text(pragmas)).one()))
    assert pooled == on_writer == ("wal", 1)  # WAL, synchronous=NORMAL


async def test_a_device_blocked_on_the_writer_is_refused_on_the_very_next_request(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write on the runtime's writer drops the kept rows it changed before its caller
    resumes: with the change-log poll held off, a device blocked there is refused by the next
    GET /v2/device."""
    if backend != "sqlite":
        pytest.skip("the writer serves SQLite files only")
    assert runtime.writer is not None
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    monkeypatch.setattr(changes, "SQLITE_POLL_SECONDS", 3600.0)
    await asyncio.sleep(0.05)  # the poll under way ends and sleeps for an hour
    for _ in range(2):  # the second answer comes from the rows kept in process
        assert (await client.get("/v2/device", headers=bearer(token))).status_code == 200
    block = text("UPDATE devices SET status = 'BLOCKED' WHERE id = :id")
    await runtime.writer.run(lambda c: c.execute(block, {"id": w.device.id}))
    assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401
