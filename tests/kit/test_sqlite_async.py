"""SQLite's async connections (kit.sqlite_async): each statement is one hand-off to the
connection's thread, and SQLAlchemy sees the same rows, counts and ids as through aiosqlite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from posfleet.config import Environment, Settings
from posfleet.db import create_engine, create_sessionmaker, session_scope
from posfleet.kit.sqlite_async import OneHopConnection


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'one-hop.db'}",
        environment=Environment.TEST,
        secret_key="s" * 48,
    )
    engine = create_engine(settings)
    async with session_scope(create_sessionmaker(engine)) as session:
        await session.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield engine
    await engine.dispose()


class _Counting:
    """The connection's queue to its thread, counting what is put on it."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.puts = 0

    def put_nowait(self, item: Any) -> None:
        self.puts += 1
        self.queue.put_nowait(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)


async def test_a_statement_is_one_hand_off_to_the_connection_thread(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert isinstance(raw, OneHopConnection)
        counting = _Counting(raw._tx)
        raw._tx = counting  # type: ignore[assignment]
        try:
            rows = (await connection.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
            assert [r[0] for r in rows] == [1, 2]
            assert counting.puts == 1
        finally:
            raw._tx = counting.queue


async def test_rows_counts_and_ids_are_those_sqlite_gives(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO probe (n) VALUES (10)"))
        assert inserted.lastrowid == 1
        await connection.execute(
            text("INSERT INTO probe (n) VALUES (:n)"), [{"n": 20}, {"n": 30}, {"n": 40}]
        )
        updated = await connection.execute(text("UPDATE probe SET n = n + 1 WHERE n > 15"))
        assert updated.rowcount == 3
        returned = await connection.execute(
            text("UPDATE probe SET n = n * 2 WHERE n < 30 RETURNING id, n")
        )
        assert sorted(returned.all()) == [(1, 20), (2, 42)]
        assert returned.rowcount == 2
        none = await connection.execute(text("SELECT n FROM probe WHERE n < 0"))
        assert none.first() is None
        many = await connection.execute(text("SELECT n FROM probe ORDER BY n"))
        assert many.fetchmany(2) == [(20,), (31,)]
        assert many.fetchall() == [(41,), (42,)]


async def test_an_error_reaches_the_caller_and_the_connection_goes_on(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as connection:
        with pytest.raises(Exception, match="no such table"):
            await connection.execute(text("SELECT * FROM no_such_table"))
        await connection.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM probe"))).scalar() == 0
