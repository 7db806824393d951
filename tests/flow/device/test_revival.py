"""A device created again under a deleted device's uid accepts none of the deleted one's tokens."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models import Device
from posfleet.runtime import Runtime
from tests.flow.device.support import PASSWORD, bearer, link, world


async def test_tokens_of_a_deleted_device_stay_dead_when_its_uid_is_reused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Delete till-x, create till-x again and link it: the old device token
    and device-user token are 401 on GET/PUT /v2/device and /v2/device/users."""
    w = await world(session, runtime)
    old = await link(client, w)
    login = await client.post(
        "/v2/account",
        json={"userCode": w.regular_user.user_code, "password": PASSWORD},
        headers=bearer(old["token"]),
    )
    assert login.status_code == 200, login.text
    old_user_token = login.json()["accessToken"]

    async with runtime.sessionmaker() as s:
        device = await s.get(Device, w.device.id)
        assert device is not None
        await DeviceService(s, runtime).delete(device, "admin")
        again, code = await DeviceService(s, runtime).create(
            w.tenant.id,
            name="Front till again",
            app_code=w.device.app_code,
            actor="admin",
            device_uid=w.device.uid,
            store_uid=w.store.uid,
        )
        await s.commit()
    assert again.uid == w.device.uid
    assert again.credential_generation == 1
    w.code = code
    w.device = again
    fresh = await client.post(
        f"/v2/device/{code}/link",
        json={"appId": w.app.app_id, "userCode": w.full_user.user_code, "password": PASSWORD},
    )
    assert fresh.status_code == 200, fresh.text
    assert (
        await client.get("/v2/device", headers=bearer(fresh.json()["token"]))
    ).status_code == 200

    for token in (old["token"], old_user_token):
        assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401
        assert (await client.get("/v2/device/users", headers=bearer(token))).status_code == 401
    put = await client.put(
        "/v2/device", json={"systemInformation": "revived"}, headers=bearer(old["token"])
    )
    assert put.status_code == 401, put.text
