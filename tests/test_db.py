"""Session modes and pooled connections: reads never queue on SQLite's writer, and a pool whose
server sessions were all ended serves the next requests without an error."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from posfleet import db
from posfleet.config import Settings
from posfleet.db import create_engine, create_sessionmaker, session_scope
from posfleet.errors import TooManyRequests
from posfleet.runtime import Runtime
from tests.flow.device.support import assert_generic_error, bearer, link, world


async def test_device_info_is_answered_while_another_writer_holds_sqlite_s_write_lock(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, backend: str
) -> None:
    """GET /v2/device reads without taking the write lock: it does not wait for a writer."""
    if backend != "sqlite":
        pytest.skip("SQLite's single writer lock")
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    async with runtime.engine.connect() as writer:
        await writer.execute(text("UPDATE tenants SET name = name WHERE id = :id"), {"id": 0})
        # The writer holds BEGIN IMMEDIATE until it commits; a GET that took the lock would wait
        # for busy_timeout (10 s).
        response = await asyncio.wait_for(client.get("/v2/device", headers=bearer(token)), 3)
        assert response.status_code == 200
        await writer.rollback()


async def _pooled_backend_pids(engine: AsyncEngine, count: int) -> set[int]:
    held = asyncio.Event()
    pids: set[int] = set()

    async def hold() -> None:
        async with engine.connect() as connection:
            pids.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            if len(pids) == count:
                held.set()
            await held.wait()

    await asyncio.gather(*(hold() for _ in range(count)))
    return pids


async def test_requests_after_every_pooled_connection_was_terminated_succeed(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, backend: str
) -> None:
    """pg_terminate_backend on every pooled connection (both pools): the requests that follow
    all succeed."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL server sessions")
    w = await world(session, runtime)
    await session.commit()
    token = (await link(client, w))["token"]
    size = runtime.settings.database_pool_size
    pids = await _pooled_backend_pids(runtime.engine, size)
    assert runtime.read_engine is not None
    assert runtime.read_engine is not runtime.engine
    pids |= await _pooled_backend_pids(runtime.read_engine, size)  # the reads' pool too
    outsider = create_async_engine(runtime.settings.database_url, poolclass=NullPool)
    async with outsider.connect() as admin:
        await admin.execute(
            # Each call waits (up to 10 s) for the server session to end.
            text("SELECT pg_terminate_backend(pid, 10000) FROM unnest(CAST(:p AS int[])) AS pid"),
            {"p": list(pids)},
        )
        for _ in range(600):
            alive = (
                await admin.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:p AS int[]))"
                    ),
                    {"p": list(pids)},
                )
            ).scalar_one()
            if alive == 0:
                break
            await asyncio.sleep(0.05)
        await admin.rollback()
    await outsider.dispose()
    assert alive == 0
    responses = await asyncio.gather(
        *(client.get("/v2/device", headers=bearer(token)) for _ in range(2 * size))
    )
    assert [r.status_code for r in responses] == [200] * (2 * size)


async def _hold_the_write_lock(sessionmaker: async_sessionmaker[AsyncSession], n: int) -> None:
    async with session_scope(sessionmaker) as session:
        await session.execute(text("INSERT INTO write_queue_probe (n) VALUES (:n)"), {"n": n})
        await asyncio.sleep(0.02)  # a unit of work that awaits something while it writes


def _scratch_file(runtime: Runtime, tmp_path: Path) -> Settings:
    """The runtime's settings on a SQLite file of the test's own (not the migrated database)."""
    return runtime.settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}"}
    )


async def test_concurrent_writers_of_one_process_take_turns_instead_of_failing(
    runtime: Runtime, backend: str, tmp_path: Path
) -> None:
    """Sixty units of work writing one SQLite file at once, each holding the write lock for
    20 ms (1.2 s in all) against a busy timeout of 200 ms: every one commits."""
    if backend != "sqlite":
        pytest.skip("SQLite's single writer lock")
    engine = create_engine(_scratch_file(runtime, tmp_path))

    @event.listens_for(engine.sync_engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    sessionmaker = create_sessionmaker(engine)
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(
                text("CREATE TABLE IF NOT EXISTS write_queue_probe (n INTEGER NOT NULL)")
            )
            before = await session.execute(text("SELECT count(*) FROM write_queue_probe"))
            count_before = before.scalar_one()
        started = time.monotonic()
        await asyncio.gather(*(_hold_the_write_lock(sessionmaker, n) for n in range(60)))
        assert time.monotonic() - started > 1.2
        async with sessionmaker() as session:
            count = await session.execute(text("SELECT count(*) FROM write_queue_probe"))
            assert count.scalar_one() == count_before + 60
    finally:
        await engine.dispose()


async def test_a_writer_that_waits_too_long_for_its_turn_is_answered_server_busy(
    runtime: Runtime, backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Past the write queue's bound a unit of work fails with 429 server_busy, not a 500."""
    if backend != "sqlite":
        pytest.skip("SQLite's single writer lock")
    monkeypatch.setattr(db, "WRITE_QUEUE_SECONDS", 0.1)
    engine = create_engine(_scratch_file(runtime, tmp_path))
    sessionmaker = create_sessionmaker(engine)
    try:
        async with session_scope(sessionmaker) as session:
            await session.execute(
                text("CREATE TABLE IF NOT EXISTS write_queue_probe (n INTEGER NOT NULL)")
            )
        holder_writing = asyncio.Event()

        async def holder() -> None:
            async with session_scope(sessionmaker) as session:
                await session.execute(text("INSERT INTO write_queue_probe (n) VALUES (1)"))
                holder_writing.set()
                await asyncio.sleep(0.5)

        holding = asyncio.create_task(holder())
        await holder_writing.wait()
        with pytest.raises(TooManyRequests) as refused:
            await _hold_the_write_lock(sessionmaker, 2)
        assert refused.value.code == "server_busy"
        await holding
        await _hold_the_write_lock(sessionmaker, 3)  # the turn was given back
    finally:
        await engine.dispose()


async def test_a_request_that_finds_every_pooled_connection_busy_is_answered_server_busy(
    make_settings: Any, backend: str
) -> None:
    """When every pooled PostgreSQL connection stays busy past the pool's timeout, the request is
    answered 429 ``server_busy`` with Retry-After in its dialect's shape (the server is
    overloaded, not broken), and once a connection is free again the next request is served."""
    if backend != "postgresql":
        pytest.skip("SQLite's pool is not a fixed set of server connections")
    from posfleet.app import create_app
    from tests.support.clients import asgi_transport

    app = create_app(make_settings(database_pool_size=1, database_pool_timeout_seconds=0.2))
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        engines = {runtime.engine, runtime.read_engine or runtime.engine}
        release = asyncio.Event()
        held = asyncio.Semaphore(0)

        async def hold(engine: AsyncEngine) -> None:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
                held.release()
                await release.wait()

        holders = [asyncio.create_task(hold(e)) for e in engines]
        for _ in engines:
            await held.acquire()
        transport = asgi_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = {"appId": "no.example.pos", "refreshToken": "x" * 43}
            busy = await client.post("/v2/device/token", json=body)
            release.set()
            await asyncio.gather(*holders)
            after = await client.post("/v2/device/token", json=body)

    assert busy.status_code == 429, busy.text
    assert busy.headers["retry-after"] == "1"
    assert_generic_error(busy.json(), "server_busy")
    assert after.status_code == 400, after.text  # an unknown refresh token, as usual
