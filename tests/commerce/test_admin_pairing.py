"""The admin HTTP operations for pairing codes under /v2/tenants/{tenantUid}/…"""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models.enums import DeliveryStatus
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.commerce.conftest import World, make_world, pair, phone_number, settled
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver


async def admin_headers(session: AsyncSession, runtime: Runtime, world: World) -> dict[str, str]:
    user = await factories.user(session, world.tenant, permissions=["TENANT.ADMIN"])
    await session.commit()
    token, _ = TokenService(session, runtime).auth_token(user, world.tenant)
    return {"Authorization": f"Bearer {token}"}


def codes_url(world: World) -> str:
    return f"/v2/tenants/{world.tenant.uid}/devices/{world.device.uid}/pairing-codes"


async def test_an_admin_sends_a_code_by_email_and_gets_the_delivery_masked(
    client: httpx.AsyncClient,
    world: World,
    smtp: SmtpReceiver,
    session: AsyncSession,
    runtime: Runtime,
) -> None:
    headers = await admin_headers(session, runtime, world)
    address = world.mail("admin")

    response = await client.post(
        codes_url(world), json={"channel": "EMAIL", "destination": address}, headers=headers
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["deviceUid"] == world.device.uid
    assert (body["channel"], body["status"], body["transport"]) == ("EMAIL", "QUEUED", "smtp")
    assert body["destination"] == "a***@example.com"
    assert body["codeExpiresAt"]
    assert (await pair(client, world, await smtp.pairing_code(address))).status_code == 200
    assert (await settled(runtime, body["deliveryUid"])).status is DeliveryStatus.SENT


async def test_a_failed_sms_is_listed_and_an_admin_retry_delivers_a_working_code(
    client: httpx.AsyncClient,
    world: World,
    gateway: GatewayReceiver,
    session: AsyncSession,
    runtime: Runtime,
) -> None:
    headers = await admin_headers(session, runtime, world)
    _, number = phone_number()
    gateway.down = True
    sent = await client.post(
        codes_url(world), json={"channel": "SMS", "destination": number}, headers=headers
    )
    assert sent.status_code == 201
    assert sent.json()["status"] == "QUEUED"
    failed = await settled(runtime, sent.json()["deliveryUid"])
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error == "gateway answered 503: gateway maintenance"

    listed = await client.get(
        f"/v2/tenants/{world.tenant.uid}/devices/{world.device.uid}/deliveries", headers=headers
    )
    assert [d["status"] for d in listed.json()["items"]] == ["FAILED"]

    gateway.down = False
    retried = await client.post(
        f"/v2/tenants/{world.tenant.uid}/deliveries/{sent.json()['deliveryUid']}/retry",
        headers=headers,
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "QUEUED"
    assert (await pair(client, world, await gateway.pairing_code(number))).status_code == 200
    delivered = await settled(runtime, sent.json()["deliveryUid"])
    assert (delivered.status, delivered.attempts, delivered.error) == (DeliveryStatus.SENT, 2, "")


async def test_bad_input_and_foreign_tenants_are_4xx_in_the_flow_shape(
    client: httpx.AsyncClient, world: World, session: AsyncSession, runtime: Runtime
) -> None:
    headers = await admin_headers(session, runtime, world)
    bad = await client.post(
        codes_url(world), json={"channel": "PIGEON", "destination": "x"}, headers=headers
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"code", "message", "logId"}
    not_a_phone = await client.post(
        codes_url(world), json={"channel": "SMS", "destination": "call me"}, headers=headers
    )
    assert not_a_phone.status_code == 400
    assert (await client.post(codes_url(world), json={"channel": "EMAIL"})).status_code in (
        400,
        401,
    )
    async with runtime.sessionmaker() as s:
        other = await make_world(s, runtime)
    foreign = await client.post(
        f"/v2/tenants/{other.tenant.uid}/devices/{other.device.uid}/pairing-codes",
        json={"channel": "EMAIL", "destination": "x@example.com"},
        headers=headers,
    )
    assert foreign.status_code == 403
    unknown = await client.post(
        f"/v2/tenants/{world.tenant.uid}/devices/no-such-device/pairing-codes",
        json={"channel": "EMAIL", "destination": "x@example.com"},
        headers=headers,
    )
    assert unknown.status_code == 404
