"""Replicas for tests of rows kept in process: apps of their own on one database, waiting until
they hear changes, and cutting a replica off from them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.kit import changes
from posfleet.runtime import Runtime
from tests.support.clients import asgi_transport


async def listening(runtime: Runtime) -> None:
    """Until the replica hears changes (its rows kept in process are trusted)."""
    for _ in range(500):
        if runtime.changes_current():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the replica never started listening for changes")


@asynccontextmanager
async def replica_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own (a replica) and a client of it, through its lifespan."""
    app = create_app(settings)
    transport = asgi_transport(app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://r") as c,
    ):
        yield app, c


@asynccontextmanager
async def deaf(runtime: Runtime) -> AsyncIterator[AsyncEngine]:
    """PostgreSQL: the replica's notification connection terminated; yields an engine of its own
    whose plain SQL writes nobody hears, and afterwards waits until the replica listens again
    (set ``changes.RECONNECT_SECONDS`` low)."""
    feed = runtime.changes
    assert isinstance(feed, changes.PostgresChanges)
    outsider = create_async_engine(runtime.settings.database_url, poolclass=NullPool)
    try:
        async with outsider.begin() as conn:
            pid = feed.backend_pid
            await conn.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        for _ in range(500):
            if not runtime.changes_current():
                break
            await asyncio.sleep(0.01)
        assert not runtime.changes_current()
        yield outsider
    finally:
        await outsider.dispose()
    await listening(runtime)


def assert_p99_under_100_ms(delays: list[float]) -> None:
    """The p99 of ``delays`` (seconds: how long a replica still accepted what another revoked)."""
    delays = sorted(delays)
    p99 = delays[int(len(delays) * 0.99) - 1]
    assert p99 < 0.1, f"p99 {p99 * 1000:.1f} ms, max {delays[-1] * 1000:.1f} ms"
