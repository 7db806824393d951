"""POST /v2/device/token with {appId, refreshToken} on both engines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.kit.clock import utcnow
from posfleet.kit.jwt import TokenType
from posfleet.models import Device, DeviceRefreshToken
from posfleet.runtime import Runtime
from tests.flow.device.support import World, bearer, link, world


async def _linked(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> tuple[World, str]:
    w = await world(session, runtime)
    return w, (await link(client, w))["refreshToken"]


async def _refresh(client: httpx.AsyncClient, w: World, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/v2/device/token", json={"appId": w.app.app_id, "refreshToken": refresh_token}
    )


async def _admin(runtime: Runtime, w: World, action: str) -> None:
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, w.device.id)
        assert device is not None
        service = DeviceService(s, runtime)
        await getattr(service, action)(device, "admin")
        await s.commit()


def _refused(response: httpx.Response, code: str, error: str = "access_denied") -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error
    assert body["code"] == code
    assert body["message"]
    assert "logId" in body


async def test_a_refresh_token_buys_a_working_bearer_device_token(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    response = await _refresh(client, w, refresh_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires"] == runtime.codec.decode(body["token"], TokenType.DEVICE)["exp"]
    assert (await client.get("/v2/device", headers=bearer(body["token"]))).status_code == 200


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    async with runtime.sessionmaker() as s:
        row = (
            await s.scalars(
                select(DeviceRefreshToken).where(DeviceRefreshToken.device_id == w.device.id)
            )
        ).one()
    assert row.token_hash == runtime.hasher.hash(refresh_token)
    assert refresh_token not in row.token_hash


async def test_an_unknown_refresh_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, _ = await _linked(client, session, runtime)
    _refused(await _refresh(client, w, "pfr_not-a-token"), "invalid_refresh_token")


async def test_a_refresh_token_works_only_for_the_app_it_was_issued_to(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    _, refresh_token = await _linked(client, session, runtime)
    response = await client.post(
        "/v2/device/token", json={"appId": "another-app", "refreshToken": refresh_token}
    )
    _refused(response, "app_mismatch")


async def test_a_blocked_device_cannot_refresh_until_it_is_unblocked(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    await _admin(runtime, w, "block")
    _refused(await _refresh(client, w, refresh_token), "device_blocked")
    await _admin(runtime, w, "unblock")
    assert (await _refresh(client, w, refresh_token)).status_code == 200


async def test_reset_and_delete_kill_the_refresh_token(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    await _admin(runtime, w, "reset_link")
    _refused(await _refresh(client, w, refresh_token), "refresh_token_revoked")
    await _admin(runtime, w, "delete")
    _refused(await _refresh(client, w, refresh_token), "invalid_refresh_token")


async def test_a_refresh_token_idle_too_long_expires_for_good(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    idle = timedelta(seconds=runtime.settings.device_refresh_idle_seconds + 5)
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(DeviceRefreshToken)
            .where(DeviceRefreshToken.device_id == w.device.id)
            .values(last_used_at=utcnow() - idle)
        )
        await s.commit()
    _refused(await _refresh(client, w, refresh_token), "refresh_token_expired", "expired_token")
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(DeviceRefreshToken)
            .where(DeviceRefreshToken.device_id == w.device.id)
            .values(last_used_at=utcnow())
        )
        await s.commit()
    _refused(await _refresh(client, w, refresh_token), "refresh_token_revoked")


async def test_use_keeps_a_refresh_token_alive(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    idle = timedelta(seconds=runtime.settings.device_refresh_idle_seconds - 60)
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(DeviceRefreshToken)
            .where(DeviceRefreshToken.device_id == w.device.id)
            .values(last_used_at=utcnow() - idle)
        )
        await s.commit()
    assert (await _refresh(client, w, refresh_token)).status_code == 200
    async with runtime.sessionmaker() as s:
        row = (
            await s.scalars(
                select(DeviceRefreshToken).where(DeviceRefreshToken.device_id == w.device.id)
            )
        ).one()
    assert utcnow() - row.last_used_at < timedelta(seconds=60)


async def test_the_client_id_form_is_told_apart_and_answered_by_the_device_flow(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    response = await client.post(
        "/v2/device/token", json={"clientId": "pos-client", "deviceIdentifier": "abc"}
    )
    _refused(response, "invalid_device_identifier")
    assert "register" in response.json()["message"]


async def test_a_body_of_neither_form_is_a_400_naming_the_missing_fields(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v2/device/token", json={"appId": "x"})
    _refused(response, "validation_failed")
    assert "refreshToken" in response.json()["message"]
    broken = await client.post(
        "/v2/device/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _refused(broken, "bad_request")


async def test_fifty_concurrent_refreshes_all_succeed(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w, refresh_token = await _linked(client, session, runtime)
    responses = await asyncio.gather(*(_refresh(client, w, refresh_token) for _ in range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    token = responses[-1].json()["token"]
    assert (await client.get("/v2/device", headers=bearer(token))).status_code == 200
    assert (await _refresh(client, w, refresh_token)).status_code == 200
