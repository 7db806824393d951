"""The device flow under concurrency, across replicas and against its guessing budgets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.models import Device, DeviceGrant
from posfleet.runtime import Runtime
from tests.deviceflow.support import (
    FlowWorld,
    authorize_body,
    flow_world,
    poll,
    register,
    wait_interval,
)
from tests.flow.device.support import assert_generic_error

CLIENTS = 50


@asynccontextmanager
async def _client(
    settings: Settings, address: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        where = address or f"198.51.100.{uuid.uuid4().hex[:8]}"  # a budget of its own
        transport = httpx.ASGITransport(app=app, client=(where, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            yield c


async def _devices_of(runtime: Runtime, identifier: str) -> int:
    async with runtime.sessionmaker() as s:
        grant = await s.scalar(
            select(DeviceGrant).where(
                DeviceGrant.identifier_hash == runtime.hasher.hash(identifier)
            )
        )
        assert grant is not None
        named = await s.scalar(
            select(func.count()).select_from(Device).where(Device.name == grant.name)
        )
    return int(named or 0)


@pytest.fixture
def roomy(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        rate_limit_per_address=1_000_000, device_flow_attempts_per_tenant=1_000_000
    )


async def test_of_fifty_concurrent_authorizations_of_one_code_exactly_one_wins(
    roomy: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    async with _client(roomy) as c:
        registered = await register(c, fw, name=f"race-{uuid.uuid4().hex[:8]}")
        body = authorize_body(fw, registered["deviceCode"])
        responses = await asyncio.gather(
            *(c.post("/v2/device/authorize", json=body, headers=fw.auth) for _ in range(CLIENTS))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (CLIENTS - 1), statuses
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"device_code_used"}
    assert await _devices_of(runtime, registered["deviceIdentifier"]) == 1


async def test_fifty_polls_at_the_moment_of_approval_see_one_device(
    roomy: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    async with _client(roomy) as c:
        registered = await register(c, fw, name=f"race-{uuid.uuid4().hex[:8]}")
        identifier = registered["deviceIdentifier"]
        approval = c.post(
            "/v2/device/authorize",
            json=authorize_body(fw, registered["deviceCode"]),
            headers=fw.auth,
        )
        approved, *polls = await asyncio.gather(
            approval, *(poll(c, fw, identifier) for _ in range(CLIENTS))
        )
        assert approved.status_code == 200, approved.text
        answers = [r.json().get("error", "token") for r in polls]
        assert not any(r.status_code >= 500 for r in polls)
        assert set(answers) <= {"token", "authorization_pending", "slow_down"}, answers
        # One poll per interval is answered: at most one of the fifty got a token.
        assert answers.count("token") <= 1
        assert await _devices_of(runtime, identifier) == 1
        await wait_interval(runtime, identifier, 3600)
        after = await poll(c, fw, identifier)
        assert after.status_code == 200, after.text


async def test_the_interval_raised_on_one_replica_holds_on_another(
    backend: str, roomy: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    if backend != "postgresql":
        pytest.skip("replicas share a PostgreSQL server")
    fw = await flow_world(session, runtime)
    async with _client(roomy) as a, _client(roomy) as b:
        identifier = (await register(a, fw))["deviceIdentifier"]
        assert (await poll(a, fw, identifier)).json()["error"] == "authorization_pending"
        assert (await poll(b, fw, identifier)).json()["error"] == "slow_down"
        await wait_interval(runtime, identifier, 6)  # within the raised 10 s, past the first 5
        assert (await poll(a, fw, identifier)).json()["error"] == "slow_down"
        await wait_interval(runtime, identifier, 16)
        assert (await poll(b, fw, identifier)).json()["error"] == "authorization_pending"


async def test_registrations_are_limited_per_address_and_per_client(
    make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    per_address = make_settings(rate_limit_per_address=3, rate_limit_window_seconds=3600)
    async with _client(per_address) as c:
        for _ in range(3):
            await register(c, fw)
        blocked = await c.post("/v2/device", json={"clientId": fw.client.client_id})
    assert blocked.status_code == 429
    assert_generic_error(blocked.json(), "too_many_requests")

    fw = await flow_world(session, runtime)  # a client whose budget nothing has spent
    per_client = make_settings(
        device_flow_registrations_per_client=2, rate_limit_window_seconds=3600
    )
    for _ in range(2):
        async with _client(per_client) as c:
            await register(c, fw)
    async with _client(per_client) as c:
        refused = await c.post("/v2/device", json={"clientId": fw.client.client_id})
    assert refused.status_code == 429
    assert "client" in refused.json()["message"]


async def test_device_code_guesses_are_limited_per_address_and_per_tenant(
    make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    fw: FlowWorld = await flow_world(session, runtime)
    guess = authorize_body(fw, "AAAA-AAAA")
    per_address = make_settings(rate_limit_per_address=3, rate_limit_window_seconds=3600)
    async with _client(per_address) as c:
        for _ in range(3):
            miss = await c.post("/v2/device/authorize", json=guess, headers=fw.auth)
            assert miss.status_code == 400
        blocked = await c.post("/v2/device/authorize", json=guess, headers=fw.auth)
    assert blocked.status_code == 429

    fw = await flow_world(session, runtime)  # a tenant whose budget nothing has spent
    guess = authorize_body(fw, "AAAA-AAAA")
    per_tenant = make_settings(device_flow_attempts_per_tenant=3, rate_limit_window_seconds=3600)
    for _ in range(3):
        async with _client(per_tenant) as c:
            assert (
                await c.post("/v2/device/authorize", json=guess, headers=fw.auth)
            ).status_code == 400
    async with _client(per_tenant) as c:
        refused = await c.post("/v2/device/authorize", json=guess, headers=fw.auth)
    assert refused.status_code == 429
    assert "tenant" in refused.json()["message"]
