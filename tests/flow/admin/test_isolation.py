"""Tenant isolation: a token of tenant A on tenant B's paths gets 403 and never B's data."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.flow import tenant_config
from posfleet.models import Device, IdempotencyRecord
from posfleet.runtime import Runtime
from tests.flow.admin.support import admin, bearer

OPERATIONS = [
    ("GET", ""),
    ("POST", ""),
    ("POST", "/search"),
    ("GET", "/{uid}"),
    ("PUT", "/{uid}"),
    ("DELETE", "/{uid}"),
]
BODIES = {"POST": {"name": "Intruder", "appCode": "CLIENT"}, "PUT": {"name": "Hijacked"}}


@pytest.mark.parametrize("token_kind", ["auth", "access"])
@pytest.mark.parametrize(("method", "suffix"), OPERATIONS)
async def test_a_foreign_tenants_token_is_refused_and_learns_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    method: str,
    suffix: str,
    token_kind: str,
) -> None:
    victim = await admin(session, runtime)
    intruder = await admin(session, runtime)
    created = await client.post(
        victim.url(), json={"name": "Secret till", "appCode": "CLIENT"}, headers=victim.headers
    )
    uid = created.json()["deviceUid"]
    headers = intruder.headers
    if token_kind == "access":
        exchanged = await client.post(
            f"/v2/tenants/{intruder.tenant.uid}/account", headers=intruder.headers
        )
        headers = bearer(exchanged.json()["accessToken"])
    r = await client.request(
        method, victim.url(suffix.format(uid=uid)), json=BODIES.get(method), headers=headers
    )
    assert r.status_code == 403, r.text
    assert set(r.json()) == {"code", "message", "logId"}
    assert "Secret" not in r.text
    assert uid not in r.text
    after = await client.get(victim.url(f"/{uid}"), headers=victim.headers)
    assert after.status_code == 200
    assert after.json()["name"] == "Secret till"
    listed = await client.get(victim.url(), headers=victim.headers)
    assert listed.json()["paging"]["totalCount"] == 1


async def test_a_device_uid_of_another_tenant_is_404_on_the_own_path(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    victim = await admin(session, runtime)
    intruder = await admin(session, runtime)
    uid = (
        await client.post(
            victim.url(), json={"name": "Secret", "appCode": "CLIENT"}, headers=victim.headers
        )
    ).json()["deviceUid"]
    for method in ("GET", "PUT", "DELETE"):
        r = await client.request(
            method, intruder.url(f"/{uid}"), json=BODIES.get(method), headers=intruder.headers
        )
        assert r.status_code == 404, method
    search = await client.post(
        intruder.url("/search"), json={"query": "Secret"}, headers=intruder.headers
    )
    assert search.json()["items"] == []


async def test_fifty_concurrent_creates_with_one_idempotency_key_make_one_device(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    headers = {**a.headers, "Idempotency-Key": "create-front-till-once"}
    body = {"name": "Front till", "appCode": "CLIENT", "storeUid": a.store.uid}
    answers = await asyncio.gather(
        *(client.post(a.url(), json=body, headers=headers) for _ in range(50))
    )
    assert [r.status_code for r in answers] == [201] * 50, {r.text for r in answers}
    assert len({r.json()["deviceUid"] for r in answers}) == 1
    codes = [r.json()["deviceLinkCode"] for r in answers]
    assert sum(1 for c in codes if c) == 1  # the link code is shown once
    count = await session.scalar(
        select(func.count()).select_from(Device).where(Device.tenant_id == a.tenant.id)
    )
    assert count == 1
    stored = await session.scalar(
        select(IdempotencyRecord.response_body).where(IdempotencyRecord.tenant_id == a.tenant.id)
    )
    assert stored is not None
    assert stored["deviceLinkCode"] == ""


async def test_an_idempotency_key_reused_with_another_body_is_400(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    headers = {**a.headers, "Idempotency-Key": "k-1"}
    first = await client.post(a.url(), json={"name": "A", "appCode": "CLIENT"}, headers=headers)
    assert first.status_code == 201
    other = await client.post(a.url(), json={"name": "B", "appCode": "CLIENT"}, headers=headers)
    assert other.status_code == 400
    assert other.json()["code"] == "idempotency_key_reused"
    bad_key = await client.post(
        a.url(),
        json={"name": "A", "appCode": "CLIENT"},
        headers={**a.headers, "Idempotency-Key": "x" * 201},
    )
    assert bad_key.status_code == 400


async def test_a_failed_create_leaves_its_idempotency_key_free(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    headers = {**a.headers, "Idempotency-Key": "k-2"}
    body = {"name": "A", "appCode": "CLIENT", "storeUid": "nowhere"}
    assert (await client.post(a.url(), json=body, headers=headers)).status_code == 400
    body["storeUid"] = a.store.uid
    assert (await client.post(a.url(), json=body, headers=headers)).status_code == 201


# The tenant configuration API: every route of its router, filled with the victim's rows.
CONFIG_ROUTES = sorted(
    (method, route.path)
    for route in tenant_config.router.routes
    if isinstance(route, APIRoute)
    for method in route.methods
)
CONFIG_BODIES = {
    "POST": {"name": "Intruder", "kind": "DISCOUNT", "code": "X"},
    "PUT": {"name": "Hijacked"},
}


async def _victim_config(client: httpx.AsyncClient, victim: Any) -> dict[str, str]:
    """Path values naming one row of each kind in the victim's tenant."""
    base = f"/v2/tenants/{victim.tenant.uid}"
    h = victim.headers
    store = "secret-store"
    await client.post(f"{base}/stores", json={"name": "Secret", "storeUid": store}, headers=h)
    await client.post(
        f"{base}/stores/{store}/tills", json={"number": 7, "tillUid": "secret-till"}, headers=h
    )
    await client.post(
        f"{base}/printers", json={"name": "Secret", "printerUid": "secret-printer"}, headers=h
    )
    await client.post(
        f"{base}/stores/{store}/payment-methods",
        json={"code": "VIPPS", "name": "Secret", "paymentMethodUid": "secret-method"},
        headers=h,
    )
    await client.post(f"{base}/reasons", json={"kind": "RETURN", "code": "SECRET"}, headers=h)
    await client.post(
        f"{base}/currency-denominations", json={"denomination": 777, "material": "COIN"}, headers=h
    )
    await client.post(f"{base}/device-settings", json={"key": "secret", "type": "BOOL"}, headers=h)
    user = await client.post(
        f"{base}/users",
        json={"userCode": "secret-user", "password": "2468", "userUid": "secret-user"},
        headers=h,
    )
    assert user.status_code == 201, user.text
    device = await client.post(
        f"{base}/devices", json={"name": "Secret", "appCode": "CLIENT"}, headers=h
    )
    return {
        "tenantUid": victim.tenant.uid,
        "storeUid": store,
        "tillUid": "secret-till",
        "printerUid": "secret-printer",
        "paymentMethodUid": "secret-method",
        "kind": "RETURN",
        "code": "SECRET",
        "currencyCode": victim.tenant.currency_code,
        "material": "COIN",
        "denomination": "777",
        "key": "secret",
        "userUid": "secret-user",
        "deviceUid": device.json()["deviceUid"],
    }


@pytest.mark.parametrize(("method", "path"), CONFIG_ROUTES)
async def test_a_foreign_token_on_any_configuration_route_is_refused_and_learns_nothing(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, method: str, path: str
) -> None:
    victim = await admin(session, runtime)
    intruder = await admin(session, runtime)
    values = await _victim_config(client, victim)
    before = await client.get(f"/v2/tenants/{victim.tenant.uid}/stores", headers=victim.headers)
    url = path.format(**values)
    r = await client.request(method, url, json=CONFIG_BODIES.get(method), headers=intruder.headers)
    assert r.status_code == 403, r.text
    assert set(r.json()) == {"code", "message", "logId"}
    assert "secret" not in r.text.lower()
    after = await client.get(f"/v2/tenants/{victim.tenant.uid}/stores", headers=victim.headers)
    assert after.json() == before.json()
    if path.count("{") > 1:
        # The victim's row named on the intruder's own path does not exist there.
        own = path.format(**{**values, "tenantUid": intruder.tenant.uid})
        mine = await client.request(
            method, own, json=CONFIG_BODIES.get(method), headers=intruder.headers
        )
        found_nothing = mine.status_code == 200 and mine.json()["items"] == []
        assert mine.status_code in (400, 404) or found_nothing, (own, mine.text)
        assert "Secret" not in mine.text


async def test_audit_events_webhooks_and_the_outbox_of_another_tenant_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """A foreign token reads no timeline, endpoint or message of another tenant, and a
    tenant's own paths never show another tenant's rows."""
    victim = await admin(session, runtime)
    intruder = await admin(session, runtime)
    uid = (
        await client.post(
            victim.url(), json={"name": "Secret", "appCode": "CLIENT"}, headers=victim.headers
        )
    ).json()["deviceUid"]
    endpoint = await client.post(
        f"/v2/tenants/{victim.tenant.uid}/webhooks",
        # Disabled, so that no worker ever calls this address.
        json={"url": "https://93.184.216.34/hook", "events": ["device.created"], "enabled": False},
        headers=victim.headers,
    )
    assert endpoint.status_code == 201, endpoint.text
    hook = endpoint.json()["endpointUid"]
    base = f"/v2/tenants/{victim.tenant.uid}"
    for method, path in [
        ("GET", f"{base}/events"),
        ("GET", f"{base}/devices/{uid}/events"),
        ("GET", f"{base}/webhooks"),
        ("GET", f"{base}/webhooks/{hook}"),
        ("PATCH", f"{base}/webhooks/{hook}"),
        ("DELETE", f"{base}/webhooks/{hook}"),
        ("POST", f"{base}/webhooks/{hook}/test"),
        ("GET", f"{base}/webhooks/{hook}/messages"),
        ("GET", f"{base}/outbox/dead"),
    ]:
        r = await client.request(
            method, path, json={} if method == "PATCH" else None, headers=intruder.headers
        )
        assert r.status_code == 403, (method, path, r.text)
        assert uid not in r.text
        assert "93.184.216.34" not in r.text

    own = f"/v2/tenants/{intruder.tenant.uid}"
    assert (await client.get(f"{own}/events", headers=intruder.headers)).json()["items"] == []
    assert (await client.get(f"{own}/devices/{uid}/events", headers=intruder.headers)).json()[
        "items"
    ] == []
    assert (await client.get(f"{own}/webhooks", headers=intruder.headers)).json()["items"] == []
    assert (await client.get(f"{own}/webhooks/{hook}", headers=intruder.headers)).status_code == 404
