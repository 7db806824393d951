"""The cached DeviceInfo body is never stale: any change to what it shows, by any writer, is in
the next answer.  Changes here are plain SQL in a session of their own, as another replica, the
back office or the CLI would make them; the app learns of them only through the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models import Device
from posfleet.models.enums import ReasonKind
from posfleet.runtime import Runtime
from posfleet.tenants.reasons import ReasonFields, ReasonService
from tests.flow.device.support import World, bearer, link, world


@dataclass(frozen=True)
class Change:
    sql: str
    shown: Callable[[dict[str, Any]], Any]
    expected: Any


CHANGES = {
    "tenant": Change(
        "UPDATE tenants SET name = 'Renamed' WHERE id = :tenant",
        lambda b: b["tenantInfo"]["name"],
        "Renamed",
    ),
    "store": Change(
        "UPDATE stores SET name = 'Renamed' WHERE id = :store",
        lambda b: b["storeInfo"]["name"],
        "Renamed",
    ),
    "till": Change(
        "UPDATE tills SET name = 'Renamed' WHERE id = :till",
        lambda b: b["tillInfo"]["name"],
        "Renamed",
    ),
    "payment method": Change(
        "UPDATE store_payment_methods SET name = 'Renamed' WHERE store_id = :store "
        "AND code = 'CASH'",
        lambda b: b["availablePaymentMethods"][0]["name"],
        "Renamed",
    ),
    "payment method removed": Change(
        "DELETE FROM store_payment_methods WHERE store_id = :store AND code = 'VIPPS'",
        lambda b: [m["paymentCode"] for m in b["availablePaymentMethods"]],
        ["CASH", "INVOICE"],
    ),
    "reason": Change(
        "UPDATE reasons SET code = 'RENAMED' WHERE tenant_id = :tenant AND code = 'STAFF'",
        lambda b: b["availableReasons"]["discount"][0]["code"],
        "RENAMED",
    ),
    "denomination": Change(
        "DELETE FROM currency_denominations WHERE tenant_id = :tenant",
        lambda b: b["currencyDenominations"],
        [],
    ),
    "setting definition": Change(
        "UPDATE device_setting_definitions SET name = 'Renamed' WHERE tenant_id = :tenant",
        lambda b: b["settings"][0]["name"],
        "Renamed",
    ),
    "setting value": Change(
        "UPDATE device_setting_values SET value = 'false' WHERE device_id = :device",
        lambda b: b["settings"][0]["value"],
        "false",
    ),
    "printer": Change(
        "UPDATE printers SET name = 'Renamed' WHERE tenant_id = :tenant",
        lambda b: b["printers"][0]["name"],
        "Renamed",
    ),
    "printer unassigned": Change(
        "DELETE FROM device_printers WHERE device_id = :device",
        lambda b: b["printers"],
        [],
    ),
    "device renamed": Change(
        "UPDATE devices SET name = 'Renamed' WHERE id = :device",
        lambda b: b["name"],
        "Renamed",
    ),
    "device moved off its till": Change(
        "UPDATE devices SET till_id = NULL WHERE id = :device",
        lambda b: b["tillInfo"]["tillUid"],
        "none",
    ),
}


async def _get(client: httpx.AsyncClient, token: str) -> httpx.Response:
    response = await client.get("/v2/device", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
async def test_a_change_by_any_writer_is_in_the_next_device_info(
    change: str, client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    first = await _get(client, token)
    assert (await _get(client, token)).headers["ETag"] == first.headers["ETag"]
    assert w.till is not None
    params = {"tenant": w.tenant.id, "store": w.store.id, "till": w.till.id, "device": w.device.id}
    async with runtime.sessionmaker() as other:
        await other.execute(text(CHANGES[change].sql), params)
        await other.commit()
    after = await _get(client, token)
    assert CHANGES[change].shown(after.json()) == CHANGES[change].expected
    assert CHANGES[change].shown(first.json()) != CHANGES[change].expected
    assert after.headers["ETag"] != first.headers["ETag"]


async def test_a_reason_added_through_the_service_is_in_the_next_device_info(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    await _get(client, token)
    async with runtime.sessionmaker() as other:
        await ReasonService(other).create_reason(
            w.tenant.id, ReasonFields(kind=ReasonKind.RETURN, code="WRONG_SIZE", position=2)
        )
        await other.commit()
    body = (await _get(client, token)).json()
    assert [r["code"] for r in body["availableReasons"]["return"]] == ["DAMAGED", "WRONG_SIZE"]


async def test_a_reset_and_relinked_device_gets_its_new_identifier_not_the_cached_one(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    old = (await _get(client, (await link(client, w))["token"])).json()
    async with runtime.sessionmaker() as other:
        device = await other.get(Device, w.device.id)
        assert device is not None
        code = await DeviceService(other, runtime).reset_link(device, "admin")
        await other.commit()
    relinked = (await link(client, World(**{**w.__dict__, "code": code})))["token"]
    new = (await _get(client, relinked)).json()
    async with runtime.sessionmaker() as other:
        device = await other.get(Device, w.device.id)
        assert device is not None
        assert new["deviceIdentifier"] == device.identifier
    assert new["deviceIdentifier"] != old["deviceIdentifier"]


async def test_an_unchanged_device_info_is_rendered_once_and_then_served_from_the_cache(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    runtime.device_info_cache.clear()
    bodies = {(await _get(client, token)).content for _ in range(3)}
    assert len(bodies) == 1
    assert len(runtime.device_info_cache) == 1
