"""The audit timeline API: who did what to which device, when and from where, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from posfleet.kit.clock import utcnow
from tests.flow.admin.support import Admin

ADDRESS = "10.20.30.40"


@pytest.fixture
async def from_address(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ADDRESS, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_devices_timeline_names_actor_action_address_and_changes_newest_first(
    from_address: httpx.AsyncClient, tenant_admin: Admin
) -> None:
    headers = tenant_admin.headers
    created = await from_address.post(
        tenant_admin.url(), json={"name": "Till 1", "appCode": "CLIENT"}, headers=headers
    )
    uid = created.json()["deviceUid"]
    await from_address.put(tenant_admin.url(f"/{uid}"), json={"name": "Till 2"}, headers=headers)
    other = await from_address.post(
        tenant_admin.url(), json={"name": "Other", "appCode": "CLIENT"}, headers=headers
    )

    timeline = await from_address.get(tenant_admin.url(f"/{uid}/events"), headers=headers)

    assert timeline.status_code == 200, timeline.text
    body = timeline.json()
    assert [e["action"] for e in body["items"]] == ["updated", "created"]
    assert body["paging"] == {"pageNumber": 1, "pageSize": 50, "totalCount": 2}
    updated = body["items"][0]
    assert updated["actor"] == {"type": "user", "name": tenant_admin.user.user_code}
    assert updated["address"] == ADDRESS
    assert updated["changes"] == {"changed": {"name": "Till 2"}}
    assert updated["deviceUid"] == uid

    everything = await from_address.get(
        f"/v2/tenants/{tenant_admin.tenant.uid}/events", headers=headers
    )
    assert {e["deviceUid"] for e in everything.json()["items"]} == {
        uid,
        other.json()["deviceUid"],
    }


async def test_the_timeline_filters_by_action_and_time_and_pages(
    client: httpx.AsyncClient, tenant_admin: Admin
) -> None:
    headers = tenant_admin.headers
    before = utcnow() - timedelta(seconds=1)
    for name in ("A", "B", "C"):
        await client.post(
            tenant_admin.url(), json={"name": name, "appCode": "CLIENT"}, headers=headers
        )
    url = f"/v2/tenants/{tenant_admin.tenant.uid}/events"

    page = await client.get(url, params={"pageSize": 2, "pageNumber": 2}, headers=headers)
    assert page.json()["paging"] == {"pageNumber": 2, "pageSize": 2, "totalCount": 3}
    assert [e["changes"]["name"] for e in page.json()["items"]] == ["A"]

    created = await client.get(url, params={"action": ["created", "deleted"]}, headers=headers)
    assert len(created.json()["items"]) == 3
    none = await client.get(url, params={"action": "blocked"}, headers=headers)
    assert none.json()["items"] == []

    since = await client.get(url, params={"since": before.isoformat()}, headers=headers)
    assert since.json()["paging"]["totalCount"] == 3
    until = await client.get(url, params={"until": before.isoformat()}, headers=headers)
    assert until.json()["paging"]["totalCount"] == 0


@pytest.mark.parametrize(
    "params",
    [{"since": "2026-12-01T10:00:00"}, {"pageSize": 100000}, {"pageNumber": 0}, {"since": "x"}],
)
async def test_bad_filters_are_400_in_the_flow_shape(
    client: httpx.AsyncClient, tenant_admin: Admin, params: dict[str, object]
) -> None:
    response = await client.get(
        f"/v2/tenants/{tenant_admin.tenant.uid}/events",
        params=params,  # type: ignore[arg-type]
        headers=tenant_admin.headers,
    )
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message", "logId"}


async def test_a_deleted_devices_timeline_stays_readable(
    client: httpx.AsyncClient, tenant_admin: Admin
) -> None:
    headers = tenant_admin.headers
    created = await client.post(
        tenant_admin.url(), json={"name": "Gone", "appCode": "CLIENT"}, headers=headers
    )
    uid = created.json()["deviceUid"]
    await client.delete(tenant_admin.url(f"/{uid}"), headers=headers)
    timeline = await client.get(tenant_admin.url(f"/{uid}/events"), headers=headers)
    assert [e["action"] for e in timeline.json()["items"]] == ["deleted", "created"]
