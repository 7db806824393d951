"""POST /v2/device/{deviceCode}/link on both engines."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.devices.service import DeviceService
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import format_code
from posfleet.kit.jwt import TokenType
from posfleet.models import Device, DeviceRefreshToken, LinkCode
from posfleet.models.enums import AppCode, CodeState, DeviceStatus, UserStatus
from posfleet.runtime import Runtime
from tests import factories
from tests.flow.device.support import (
    PASSWORD,
    assert_generic_error,
    bearer,
    link,
    link_body,
    schema_errors,
    world,
)
from tests.support.clients import asgi_transport


async def _device(runtime: Runtime, device_id: int) -> Device:
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, device_id)
        assert device is not None
        return device


async def _code_row(runtime: Runtime, device_id: int) -> LinkCode:
    async with runtime.sessionmaker() as s:
        return (
            await s.scalars(
                select(LinkCode).where(LinkCode.device_id == device_id).order_by(LinkCode.id)
            )
        ).all()[-1]


async def test_a_full_user_links_a_ready_device_and_gets_its_tokens(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    old_identifier = w.device.identifier
    body = await link(client, w)
    assert schema_errors("DeviceLinkResponseSchema", body) == []
    claims = runtime.codec.decode(body["token"], TokenType.DEVICE)
    assert claims["sub"] == w.device.uid
    assert body["expires"] == claims["exp"]
    device = await _device(runtime, w.device.id)
    assert device.status is DeviceStatus.ACTIVE
    assert device.identifier
    assert device.identifier != old_identifier
    assert device.last_tenant_user_uid == w.full_user.uid
    assert device.system_information == "Linux till-01 6.1.0 x86_64"
    assert (await _code_row(runtime, w.device.id)).state is CodeState.SPENT
    info = await client.get("/v2/device", headers=bearer(body["token"]))
    assert info.status_code == 200, info.text
    assert info.json()["deviceIdentifier"] == device.identifier


async def test_the_code_is_accepted_in_lower_case_with_dashes(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    typed = format_code(w.code).lower()
    response = await client.post(f"/v2/device/{typed}/link", json=link_body(w))
    assert response.status_code == 200, response.text


async def test_an_unknown_code_is_404_in_the_generic_error_body(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    response = await client.post("/v2/device/ZZZZZZZZ/link", json=link_body(w))
    assert response.status_code == 404
    assert_generic_error(response.json(), "unknown_link_code")


async def test_a_spent_code_is_404(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    await link(client, w)
    again = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert again.status_code == 404
    assert_generic_error(again.json(), "unknown_link_code")


async def test_a_wrong_password_and_an_unknown_user_answer_alike(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    wrong = await client.post(f"/v2/device/{w.code}/link", json=link_body(w, password="nope"))
    nobody = await client.post(f"/v2/device/{w.code}/link", json=link_body(w, userCode="ghost"))
    assert wrong.status_code == nobody.status_code == 400
    assert_generic_error(wrong.json(), "invalid_credentials")
    assert {k: v for k, v in wrong.json().items() if k != "logId"} == {
        k: v for k, v in nobody.json().items() if k != "logId"
    }
    assert (await _device(runtime, w.device.id)).status is DeviceStatus.READY_TO_LINK


@pytest.mark.parametrize(
    ("arrange", "code"),
    [
        ("regular", "user_not_full"),
        ("inactive", "user_inactive"),
        ("other_store", "no_store_access"),
        ("other_tenant", "invalid_credentials"),
    ],
)
async def test_only_an_active_full_user_of_the_tenant_with_store_access_links(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    arrange: str,
    code: str,
) -> None:
    w = await world(session, runtime)
    if arrange == "regular":
        user = w.regular_user
    elif arrange == "inactive":
        user = await factories.user(session, w.tenant, stores=[w.store], status=UserStatus.INACTIVE)
    elif arrange == "other_store":
        user = await factories.user(
            session, w.tenant, stores=[await factories.store(session, w.tenant)]
        )
    else:
        other = await factories.tenant(session)
        user = await factories.user(session, other, all_stores=True)
    await session.commit()
    response = await client.post(
        f"/v2/device/{w.code}/link", json=link_body(w, userCode=user.user_code)
    )
    assert response.status_code == 400
    assert_generic_error(response.json(), code)
    assert (await _device(runtime, w.device.id)).status is DeviceStatus.READY_TO_LINK


async def test_a_user_with_access_to_all_stores_links(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    admin = await factories.user(session, w.tenant, all_stores=True, password=PASSWORD)
    await session.commit()
    await link(client, w, userCode=admin.user_code)


async def test_an_unregistered_app_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w, appId="nope"))
    assert response.status_code == 400
    assert_generic_error(response.json(), "unknown_app")


async def test_an_app_of_another_code_cannot_link_the_device(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime, app_code=AppCode.ASSISTANT, device_app_code=AppCode.CLIENT)
    response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert response.status_code == 400
    assert_generic_error(response.json(), "app_mismatch")


async def test_a_device_of_unknown_app_code_takes_the_linking_apps_code(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime, app_code=AppCode.ASSISTANT, device_app_code=AppCode.UNKNOWN)
    await link(client, w)
    assert (await _device(runtime, w.device.id)).app_code is AppCode.ASSISTANT


async def test_a_missing_field_is_a_400_naming_it(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    body = link_body(w)
    del body["appId"]
    response = await client.post(f"/v2/device/{w.code}/link", json=body)
    assert response.status_code == 400
    assert_generic_error(response.json(), "validation_failed")
    assert "appId" in response.json()["message"]


async def test_failed_attempts_lock_the_code_until_an_admin_resets_the_device(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = await world(session, runtime)
    limit = runtime.settings.link_code_max_failures
    for attempt in range(limit):
        response = await client.post(
            f"/v2/device/{w.code}/link", json=link_body(w, password=f"guess-{attempt}")
        )
        assert response.status_code == 400
    assert "locked" in response.json()["message"]
    row = await _code_row(runtime, w.device.id)
    assert (row.state, row.failed_attempts) == (CodeState.LOCKED, limit)

    right = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) >= 1
    assert_generic_error(right.json(), "link_code_locked")
    assert "reset" in right.json()["message"]

    async with runtime.sessionmaker() as s:
        device = await s.get(Device, w.device.id)
        assert device is not None
        w.code = await DeviceService(s, runtime).reset_link(device, "admin")
        await s.commit()
    # The wrong passwords were charged to the user's account too: the new link waits its delay.
    later = utcnow() + timedelta(seconds=runtime.settings.account_delay_max_seconds)
    monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: later)
    await link(client, w)


@pytest.fixture
def limited_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(rate_limit_per_address=3, rate_limit_window_seconds=3600)


async def test_link_attempts_are_limited_per_address(
    limited_settings: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    address = f"203.0.113.{uuid.uuid4().hex[:8]}"  # a budget no other test run has spent
    app = create_app(limited_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            for _ in range(3):
                miss = await c.post("/v2/device/AAAAAAAA/link", json=link_body(w))
                assert miss.status_code == 404
            blocked = await c.post(f"/v2/device/{w.code}/link", json=link_body(w))
        other = httpx.ASGITransport(app=app, client=(f"{address}-other", 4000))
        async with httpx.AsyncClient(transport=other, base_url="http://t") as c:
            allowed = await c.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert_generic_error(blocked.json(), "too_many_requests")
    assert allowed.status_code == 200, allowed.text


@pytest.fixture
def roomy_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(rate_limit_per_address=1000)


async def test_of_fifty_concurrent_links_of_one_code_exactly_one_wins(
    roomy_settings: Settings, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    app: FastAPI = create_app(roomy_settings)
    async with app.router.lifespan_context(app):
        transport = asgi_transport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            responses = await asyncio.gather(
                *(c.post(f"/v2/device/{w.code}/link", json=link_body(w)) for _ in range(50))
            )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    # The losers lost the race for the code (404), or were shed before their password check
    # because the check queue was full (429 server_busy, kit/hashing.py); none linked.
    losers = [r for r in responses if r.status_code != 200]
    assert all(r.status_code == 404 for r in losers if r.json()["code"] != "server_busy"), statuses
    assert all(r.status_code == 429 for r in losers if r.json()["code"] == "server_busy"), statuses
    async with runtime.sessionmaker() as s:
        tokens = (
            await s.scalars(
                select(DeviceRefreshToken).where(DeviceRefreshToken.device_id == w.device.id)
            )
        ).all()
    assert len(tokens) == 1
    assert (await _device(runtime, w.device.id)).status is DeviceStatus.ACTIVE
