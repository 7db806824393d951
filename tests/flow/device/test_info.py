"""GET and PUT /v2/device on both engines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.models import Device, StorePaymentMethod
from posfleet.runtime import Runtime
from tests.flow.device.support import assert_generic_error, bearer, link, schema_errors, world


async def _device(runtime: Runtime, device_id: int) -> Device:
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, device_id)
        assert device is not None
        return device


async def test_device_info_is_complete_and_matches_the_spec(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    response = await client.get("/v2/device", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert schema_errors("DeviceInfoResponseSchema", body) == []
    assert [m["paymentCode"] for m in body["availablePaymentMethods"]] == [
        "CASH",
        "INVOICE",
        "VIPPS",
    ]
    assert body["zeroAmountPaymentMethod"]["name"] == "Zero"
    assert body["availableReasons"] == {
        "discount": [{"code": "STAFF", "description": ""}],
        "return": [{"code": "DAMAGED", "description": ""}],
    }
    assert body["storeInfo"]["storeUid"] == w.store.uid
    assert body["tenantInfo"]["tenantUid"] == w.tenant.uid
    assert body["tenantInfo"]["settings"]["autoLogout"] == 300
    assert body["tenantInfo"]["extensions"] == [
        {"extensionCode": "VIPPS", "name": "Vipps", "active": True}
    ]
    assert w.till is not None
    assert body["tillInfo"]["tillUid"] == w.till.uid
    assert body["currencyDenominations"] == [
        {"currencyCode": "NOK", "denomination": 2000, "material": "NOTE"}
    ]
    assert [(s["key"], s["value"], s["type"]) for s in body["settings"]] == [
        ("scale", "true", "BOOL")
    ]
    assert len(body["printers"]) == 1
    assert body["deviceUid"] == w.device.uid
    assert body["name"] == "Front till"


async def test_an_unchanged_info_answers_304_to_its_etag(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    first = await client.get("/v2/device", headers=bearer(token))
    etag = first.headers["ETag"]
    again = await client.get("/v2/device", headers={**bearer(token), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(StorePaymentMethod)
            .where(StorePaymentMethod.store_id == w.store.id)
            .values(name="Renamed")
        )
        await s.commit()
    changed = await client.get("/v2/device", headers={**bearer(token), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


async def test_a_device_without_a_till_gets_a_neutral_till_that_matches_the_spec(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime, with_till=False)
    token = (await link(client, w))["token"]
    body = (await client.get("/v2/device", headers=bearer(token))).json()
    assert schema_errors("DeviceInfoResponseSchema", body) == []
    assert body["tillInfo"]["tillNumber"] == 0
    assert body["tillInfo"]["tillUid"] == "none"


async def test_a_device_outside_any_store_is_told_to_get_placed_first(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime, with_till=False, with_store=False)
    w.full_user.all_stores = True
    session.add(w.full_user)
    await session.commit()
    token = (await link(client, w))["token"]
    response = await client.get("/v2/device", headers=bearer(token))
    assert response.status_code == 409
    assert_generic_error(response.json(), "device_not_in_store")


async def test_a_store_without_a_zero_amount_method_is_a_409_saying_so(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(StorePaymentMethod)
            .where(StorePaymentMethod.store_id == w.store.id)
            .values(is_zero_amount=False)
        )
        await s.commit()
    response = await client.get("/v2/device", headers=bearer(token))
    assert response.status_code == 409
    assert_generic_error(response.json(), "store_without_zero_amount_method")


async def test_activity_is_written_at_most_once_per_interval(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Activity is written by the flush that follows the request, once per interval."""
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    stamped = (await _device(runtime, w.device.id)).last_activity_at
    assert stamped is not None
    await client.get("/v2/device", headers=bearer(token))
    await runtime.activity.flush(runtime.sessionmaker)
    assert (await _device(runtime, w.device.id)).last_activity_at == stamped

    interval = timedelta(seconds=runtime.settings.activity_write_interval_seconds + 1)
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(Device)
            .where(Device.id == w.device.id)
            .values(last_activity_at=utcnow() - interval)
        )
        await s.commit()
    # A stamp alone does not drop the rows kept of the device (migration 0011): a process that
    # loads the row afresh (after a restart, or another change) sees the old stamp.
    runtime.live_devices.drop("devices", w.device.id)
    modified = (await _device(runtime, w.device.id)).last_modified_at
    await client.get("/v2/device", headers=bearer(token))
    await runtime.activity.flush(runtime.sessionmaker)
    after = await _device(runtime, w.device.id)
    assert after.last_activity_at is not None
    assert utcnow() - after.last_activity_at < timedelta(seconds=30)
    assert after.last_modified_at == modified

    # The rows kept now still carry the old stamp; the log remembers what it wrote, so the next
    # requests of this interval send no write at all.
    stamps: list[str] = []

    def noticed(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
        if "last_activity_at" in statement and statement.lstrip().upper().startswith("UPDATE"):
            stamps.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", noticed)
    try:
        for _ in range(3):
            assert (await client.get("/v2/device", headers=bearer(token))).status_code == 200
            await runtime.activity.flush(runtime.sessionmaker)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", noticed)
    assert stamps == []
    assert (await _device(runtime, w.device.id)).last_activity_at == after.last_activity_at


async def test_the_device_reports_its_system_information(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    response = await client.put(
        "/v2/device", json={"systemInformation": "Windows 11 23H2"}, headers=bearer(token)
    )
    assert response.status_code == 204
    assert (await _device(runtime, w.device.id)).system_information == "Windows 11 23H2"
    missing = await client.put("/v2/device", json={}, headers=bearer(token))
    assert missing.status_code == 400


async def test_device_operations_need_a_device_token(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    body = await link(client, w)
    for headers in ({}, bearer("garbage"), bearer(body["refreshToken"])):
        response = await client.get("/v2/device", headers=headers)
        assert response.status_code == 401
        assert_generic_error(response.json(), response.json()["code"])


async def test_nul_characters_in_device_request_bodies_are_a_400_not_a_server_error(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    put = await client.put(
        "/v2/device", headers=bearer(token), json={"systemInformation": "uname\x00"}
    )
    assert put.status_code == 400, put.text
    login = await client.post(
        "/v2/account", headers=bearer(token), json={"userCode": "a\x00", "password": "x"}
    )
    assert login.status_code == 400, login.text
