"""The tenant configuration API: a tenant set up through it serves a device, and every change
shows in the device's next DeviceInfo."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.runtime import Runtime
from tests import factories
from tests.flow.admin.support import bearer
from tests.flow.device.support import schema_errors

PASSWORD = "correct horse battery"


async def _bootstrap(session: AsyncSession, runtime: Runtime) -> tuple[str, dict[str, str], str]:
    """A bare tenant with one TENANT.ADMIN user (what `posfleet tenant create` and
    `posfleet user create` give), and a registered app: nothing else."""
    from posfleet.tokens.service import TokenService

    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant, permissions=["TENANT.ADMIN"], all_stores=True)
    app = await factories.registered_app(session)
    await session.commit()
    token, _ = TokenService(session, runtime).auth_token(user, tenant)
    return tenant.uid, bearer(token), f"{app.app_id}|{user.user_code}"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_a_tenant_configured_only_through_the_api_serves_a_linked_device(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, who = await _bootstrap(session, runtime)
    app_id, user_code = who.split("|")
    base = f"/v2/tenants/{tenant_uid}"
    await _ok(await client.put(base, json={"currencySymbol": "NOK"}, headers=headers))
    store = await _ok(
        await client.post(f"{base}/stores", json={"name": "Oslo"}, headers=headers), 201
    )
    till = await _ok(
        await client.post(
            f"{base}/stores/{store['storeUid']}/tills", json={"number": 1}, headers=headers
        ),
        201,
    )
    printer = await _ok(
        await client.post(
            f"{base}/printers",
            json={"name": "Receipts", "type": "RECEIPT", "storeUid": store["storeUid"]},
            headers=headers,
        ),
        201,
    )
    for body in ({"kind": "DISCOUNT", "code": "STAFF"}, {"kind": "RETURN", "code": "DAMAGED"}):
        await _ok(await client.post(f"{base}/reasons", json=body, headers=headers), 201)
    coin = {"denomination": 2000, "material": "NOTE"}
    await _ok(await client.post(f"{base}/currency-denominations", json=coin, headers=headers), 201)
    setting = {"key": "scale", "type": "BOOL", "defaultValue": "false"}
    await _ok(await client.post(f"{base}/device-settings", json=setting, headers=headers), 201)
    device = await _ok(
        await client.post(
            f"{base}/devices",
            json={
                "name": "Front till",
                "appCode": "CLIENT",
                "storeUid": store["storeUid"],
                "tillUid": till["tillUid"],
                "printerUids": [printer["printerUid"]],
            },
            headers=headers,
        ),
        201,
    )
    linked = await _ok(
        await client.post(
            f"/v2/device/{device['deviceLinkCode']}/link",
            json={"appId": app_id, "userCode": user_code, "password": PASSWORD},
        )
    )
    info = await _ok(await client.get("/v2/device", headers=bearer(linked["token"])))
    assert schema_errors("DeviceInfoResponseSchema", info) == []
    assert info["storeInfo"]["name"] == "Oslo"
    assert [m["paymentCode"] for m in info["availablePaymentMethods"]] == ["CASH"]
    assert info["zeroAmountPaymentMethod"]["paymentCode"] == "CASH"
    assert info["availableReasons"]["return"] == [{"code": "DAMAGED", "description": ""}]

    await _ok(
        await client.put(
            f"{base}/stores/{store['storeUid']}", json={"name": "Oslo sentrum"}, headers=headers
        )
    )
    again = await _ok(await client.get("/v2/device", headers=bearer(linked["token"])))
    assert again["storeInfo"]["name"] == "Oslo sentrum"
    assert again["storeInfo"]["address"] == info["storeInfo"]["address"]


async def test_an_update_changes_only_the_fields_given_and_a_delete_is_gone(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    body = {"name": "Bergen", "city": "Bergen", "storeUid": "bergen"}
    await _ok(await client.post(f"{base}/stores", json=body, headers=headers), 201)
    changed = await _ok(
        await client.put(f"{base}/stores/bergen", json={"isActive": False}, headers=headers)
    )
    assert (changed["name"], changed["city"], changed["isActive"]) == ("Bergen", "Bergen", False)
    await _ok(await client.delete(f"{base}/stores/bergen", headers=headers), 204)
    gone = await client.get(f"{base}/stores/bergen", headers=headers)
    assert gone.status_code == 404
    assert set(gone.json()) == {"code", "message", "logId"}


async def test_bad_input_is_400_in_the_flow_shape_and_a_second_zero_amount_method_409(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    for path, body in (
        ("/stores", {}),
        ("/stores", {"name": "X", "colour": "blue"}),
        ("/stores", {"name": "X", "latitude": 91}),
        ("/device-settings", {"key": "theme", "type": "ENUM"}),
        ("/reasons", {"kind": "BONUS", "code": "X"}),
        ("/stores", {"name": "nul\u0000"}),
    ):
        r = await client.post(base + path, json=body, headers=headers)
        assert r.status_code == 400, (path, body, r.text)
        assert set(r.json()) == {"code", "message", "logId"}
    store = await _ok(await client.post(f"{base}/stores", json={"name": "S"}, headers=headers), 201)
    zero = {"code": "EXTERNAL", "name": "Another zero", "isZeroAmount": True}
    r = await client.post(
        f"{base}/stores/{store['storeUid']}/payment-methods", json=zero, headers=headers
    )
    assert r.status_code == 409, r.text


async def test_a_retried_create_with_its_idempotency_key_makes_one_store(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    keyed = {**headers, "Idempotency-Key": "store-once"}
    first = await _ok(await client.post(f"{base}/stores", json={"name": "S"}, headers=keyed), 201)
    second = await client.post(f"{base}/stores", json={"name": "S"}, headers=keyed)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["storeUid"] == first["storeUid"]
    other = await client.post(f"{base}/stores", json={"name": "T"}, headers=keyed)
    assert other.status_code == 400
    listed = await _ok(await client.get(f"{base}/stores", headers=headers))
    assert listed["paging"]["totalCount"] == 1


async def test_lists_are_paged(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    for number in range(1, 6):
        body = {"kind": "DISCOUNT", "code": f"R{number}", "position": number}
        await _ok(await client.post(f"{base}/reasons", json=body, headers=headers), 201)
    page = await _ok(
        await client.get(f"{base}/reasons/DISCOUNT?pageNumber=2&pageSize=2", headers=headers)
    )
    assert [r["code"] for r in page["items"]] == ["R3", "R4"]
    assert page["paging"] == {"pageNumber": 2, "pageSize": 2, "totalCount": 5}
    bad = await client.get(f"{base}/reasons/DISCOUNT?pageSize=100000", headers=headers)
    assert bad.status_code == 400


async def test_a_device_administrator_without_tenant_admin_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    from posfleet.tokens.service import TokenService

    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant, permissions=["DEVICE"])
    await session.commit()
    token, _ = TokenService(session, runtime).auth_token(user, tenant)
    r = await client.get(f"/v2/tenants/{tenant.uid}/stores", headers=bearer(token))
    assert r.status_code == 403


async def test_users_and_their_store_access_are_kept_through_the_api(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    for uid in ("oslo", "bergen"):
        body = {"name": uid.title(), "storeUid": uid}
        await _ok(await client.post(f"{base}/stores", json=body, headers=headers), 201)
    weak = {"userCode": "kari", "password": "12345"}
    r = await client.post(f"{base}/users", json=weak, headers=headers)
    assert r.status_code == 400, r.text
    assert "PIN of exactly 4 digits" in r.json()["message"]
    kari = await _ok(
        await client.post(
            f"{base}/users",
            json={"userCode": "kari", "password": "2468", "storeUids": ["oslo"]},
            headers=headers,
        ),
        201,
    )
    assert "password" not in kari
    assert kari["storeUids"] == ["oslo"]
    moved = await _ok(
        await client.put(
            f"{base}/users/{kari['userUid']}",
            json={"storeUids": ["bergen"], "status": "INACTIVE"},
            headers=headers,
        )
    )
    assert (moved["storeUids"], moved["status"], moved["userCode"]) == (
        ["bergen"],
        "INACTIVE",
        "kari",
    )
    await _ok(await client.delete(f"{base}/users/{kari['userUid']}", headers=headers), 204)
    assert (await client.get(f"{base}/users/{kari['userUid']}", headers=headers)).status_code == 404


async def test_a_devices_vendor_facts_are_set_through_the_api(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant_uid, headers, _ = await _bootstrap(session, runtime)
    base = f"/v2/tenants/{tenant_uid}"
    device = await _ok(
        await client.post(
            f"{base}/devices", json={"name": "Till", "appCode": "CLIENT"}, headers=headers
        ),
        201,
    )
    url = f"{base}/devices/{device['deviceUid']}/hardware"
    body = {"vendor": "Sunmi", "macAddress": "00:1a:2b:3c:4d:5e"}
    answer = await _ok(await client.put(url, json=body, headers=headers))
    assert answer == {
        "deviceUid": device["deviceUid"],
        "vendor": "Sunmi",
        "modelNumber": "",
        "macAddress": "00:1A:2B:3C:4D:5E",
        "externalDeviceId": "",
    }
    bad = await client.put(url, json={"macAddress": "nope"}, headers=headers)
    assert bad.status_code == 400
