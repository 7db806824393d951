"""Every change to what DeviceInfo shows reaches the devices through every replica: the replica
that made it answers with it on its very next request, and another replica within 100 ms
(docs/security.md), while both answer from the rows and bodies they keep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.runtime import Runtime
from tests.flow.device.support import bearer, link, world
from tests.flow.device.test_info_cache import CHANGES
from tests.flow.device.test_revocation import _warm
from tests.support.replicas import listening, replica_app

# Bounds a wall-clock latency: ./scripts/test runs it alone, after the parallel pass.
pytestmark = pytest.mark.latency

BOUND = 0.1  # seconds: how long another replica may still answer what it kept


async def _body(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/v2/device", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_each_change_is_in_the_next_answer_here_and_within_100_ms_on_another_replica(
    backend: str, make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    """Each change of ``test_info_cache.CHANGES`` (tenant, store, till, payment methods,
    reasons, denominations, setting definitions and values, printers and their assignment,
    the device's name and till), written through replica A while A and B both keep the
    device's rows and body: A's next answer shows it, and B's does within 100 ms."""
    w = await world(session, runtime)
    await session.commit()
    assert w.till is not None
    params = {"tenant": w.tenant.id, "store": w.store.id, "till": w.till.id, "device": w.device.id}
    async with (
        replica_app(make_settings()) as (app_a, a),
        replica_app(make_settings()) as (app_b, b),
    ):
        replica_a: Runtime = app_a.state.runtime
        replica_b: Runtime = app_b.state.runtime
        token = (await link(a, w))["token"]
        await listening(replica_a)
        await listening(replica_b)
        for name, change in CHANGES.items():
            await _warm(a, replica_a, w, token)
            await _warm(b, replica_b, w, token)
            before = await _body(b, token)
            assert change.shown(before) != change.expected, name
            async with replica_a.sessionmaker() as writer:
                await writer.execute(text(change.sql), params)
                await writer.commit()
            changed_at = time.monotonic()
            assert change.shown(await _body(a, token)) == change.expected, name
            while change.shown(await _body(b, token)) != change.expected:
                assert time.monotonic() - changed_at < BOUND, f"{name}: B still answers the old"
                await asyncio.sleep(0.001)
