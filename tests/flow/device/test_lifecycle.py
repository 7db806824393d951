"""The whole life of a device as the device sees it, and revocation across replicas."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models import Device
from posfleet.runtime import Runtime
from tests.flow.device.support import PASSWORD, World, bearer, link, world


async def _admin(runtime: Runtime, w: World, action: str) -> str | None:
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, w.device.id)
        assert device is not None
        result: str | None = await getattr(DeviceService(s, runtime), action)(device, "admin")
        await s.commit()
    return result


async def test_create_link_use_block_unblock_reset_relink_delete(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    linked = await link(client, w)
    device_token, refresh_token = linked["token"], linked["refreshToken"]
    assert (await client.get("/v2/device", headers=bearer(device_token))).status_code == 200

    login = await client.post(
        "/v2/account",
        json={"userCode": w.regular_user.user_code, "password": PASSWORD},
        headers=bearer(device_token),
    )
    user_token = login.json()["accessToken"]
    assert (await client.get("/v2/device", headers=bearer(user_token))).status_code == 200

    refreshed = await client.post(
        "/v2/device/token", json={"appId": w.app.app_id, "refreshToken": refresh_token}
    )
    device_token = refreshed.json()["token"]

    await _admin(runtime, w, "block")
    for token in (device_token, user_token):
        assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401

    await _admin(runtime, w, "unblock")
    for token in (device_token, user_token):
        assert (await client.get("/v2/device", headers=bearer(token))).status_code == 200

    new_code = await _admin(runtime, w, "reset_link")
    assert new_code
    assert new_code != w.code
    for token in (device_token, user_token):
        assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401
    stale = await client.post(
        "/v2/device/token", json={"appId": w.app.app_id, "refreshToken": refresh_token}
    )
    assert stale.status_code == 400
    old_code = await client.post(
        f"/v2/device/{w.code}/link",
        json={"appId": w.app.app_id, "userCode": w.full_user.user_code, "password": PASSWORD},
    )
    assert old_code.status_code == 404

    w.code = new_code
    relinked = await link(client, w)
    assert (await client.get("/v2/device", headers=bearer(relinked["token"]))).status_code == 200

    await _admin(runtime, w, "delete")
    assert (await client.get("/v2/device", headers=bearer(relinked["token"]))).status_code == 401
    dead = await client.post(
        "/v2/device/token",
        json={"appId": w.app.app_id, "refreshToken": relinked["refreshToken"]},
    )
    assert dead.status_code == 400
