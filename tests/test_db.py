"""Session modes and pooled connections: reads never queue on SQLite's writer, and a pool whose
server sessions were all ended serves the next requests without an error."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from posfleet.runtime import Runtime
from tests.flow.device.support import bearer, link, world


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


async def _pooled_backend_pids(runtime: Runtime, count: int) -> set[int]:
    held = asyncio.Event()
    pids: set[int] = set()

    async def hold() -> None:
        async with runtime.engine.connect() as connection:
            pids.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
            if len(pids) == count:
                held.set()
            await held.wait()

    await asyncio.gather(*(hold() for _ in range(count)))
    return pids


async def test_requests_after_every_pooled_connection_was_terminated_succeed(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, backend: str
) -> None:
    """pg_terminate_backend on every pooled connection: the requests that follow all succeed."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL server sessions")
    w = await world(session, runtime)
    await session.commit()
    token = (await link(client, w))["token"]
    size = runtime.settings.database_pool_size
    pids = await _pooled_backend_pids(runtime, size)
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
