"""A tenant chooses which device-flow clients its users may approve."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.models import AuditEvent, Device
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.conftest import unique
from tests.deviceflow.support import FlowWorld, authorize, flow_world, register
from tests.flow.device.support import bearer


async def _device_count(runtime: Runtime, fw: FlowWorld) -> int:
    async with runtime.sessionmaker() as s:
        rows = await s.scalars(select(Device.id).where(Device.tenant_id == fw.w.tenant.id))
        return len(rows.all())


def _url(fw: FlowWorld) -> str:
    return f"/v2/tenants/{fw.w.tenant.uid}/device-flow-clients"


async def test_every_active_client_is_allowed_until_the_tenant_lists_the_ones_it_allows(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """By default every active client is allowed and its devices are approved; once the
    tenant allows only other clients, approving is 400 client_not_allowed and no device is
    made; listing the client again lets the same code through."""
    fw = await flow_world(session, runtime)
    other = await AppRegistryService(session).create_device_flow_client(
        unique("other"), AppFields(name="Other POS")
    )
    await session.commit()

    shown = await client.get(_url(fw), headers=fw.auth)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["onlyListed"] is False
    mine = {c["clientId"]: c["allowed"] for c in body["clients"]}
    assert mine[fw.client.client_id] is True
    assert mine[other.client_id] is True
    first = await register(client, fw)
    assert (await authorize(client, fw, first["deviceCode"])).status_code == 200

    changed = await client.put(
        _url(fw), json={"onlyListed": True, "allowedClientIds": [other.client_id]}, headers=fw.auth
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowedClientIds"] == [other.client_id]
    second = await register(client, fw)
    before = await _device_count(runtime, fw)
    refused = await authorize(client, fw, second["deviceCode"])
    assert refused.status_code == 400
    assert refused.json()["code"] == "client_not_allowed"
    assert "does not allow" in refused.json()["message"]
    assert await _device_count(runtime, fw) == before

    allowed = await client.put(
        _url(fw),
        json={"onlyListed": True, "allowedClientIds": [fw.client.client_id, other.client_id]},
        headers=fw.auth,
    )
    assert allowed.status_code == 200, allowed.text
    assert (await authorize(client, fw, second["deviceCode"])).status_code == 200

    async with runtime.sessionmaker() as s:
        trail = (
            await s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.tenant_id == fw.w.tenant.id,
                    AuditEvent.action == "device-flow clients changed",
                )
                .order_by(AuditEvent.id)
            )
        ).all()
    assert [(e.actor, e.detail["onlyListed"]) for e in trail] == [
        (fw.w.full_user.user_code, True),
        (fw.w.full_user.user_code, True),
    ]
    assert trail[1].detail["allowedClients"] == sorted([fw.client.client_id, other.client_id])


async def test_another_tenants_choice_is_its_own(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """One tenant listing no client does not refuse another tenant's approvals."""
    strict = await flow_world(session, runtime)
    relaxed = await flow_world(session, runtime)
    response = await client.put(
        _url(strict), json={"onlyListed": True, "allowedClientIds": []}, headers=strict.auth
    )
    assert response.status_code == 200, response.text
    registered = await register(client, relaxed, clientId=strict.client.client_id)
    assert (await authorize(client, relaxed, registered["deviceCode"])).status_code == 200
    registered = await register(client, strict)
    refused = await authorize(client, strict, registered["deviceCode"])
    assert refused.json()["code"] == "client_not_allowed"


async def test_unknown_clients_other_tenants_and_non_administrators_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """An unknown client id is 400 and changes nothing; a token of another tenant or of a
    user without TENANT.ADMIN is 403; a malformed body is 400."""
    fw = await flow_world(session, runtime)
    other = await flow_world(session, runtime)
    clerk = await factories.user(session, fw.w.tenant, permissions=["DEVICE"])
    token, _ = TokenService(session, runtime).auth_token(clerk, fw.w.tenant)
    await session.commit()

    unknown = await client.put(
        _url(fw), json={"onlyListed": True, "allowedClientIds": ["no-such"]}, headers=fw.auth
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "validation_failed"
    assert (await client.get(_url(fw), headers=fw.auth)).json()["onlyListed"] is False
    body = {"onlyListed": True, "allowedClientIds": []}
    assert (await client.put(_url(fw), json=body, headers=other.auth)).status_code == 403
    assert (await client.put(_url(fw), json=body, headers=bearer(token))).status_code == 403
    assert (await client.get(_url(fw), headers=bearer(token))).status_code == 403
    malformed = await client.put(_url(fw), json={"onlyListed": "maybe"}, headers=fw.auth)
    assert malformed.status_code == 400
    typo = await client.put(_url(fw), json={**body, "allowed": []}, headers=fw.auth)
    assert typo.status_code == 400
