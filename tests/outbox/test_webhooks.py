"""Webhooks end to end: signed requests to a real receiver that verifies them with the
standardwebhooks library, the retry schedule with the clock moved, dead messages retried by
hand, the delivery log, redelivery, disabling a failing endpoint, and the SSRF guard."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.kit.clock import utcnow
from posfleet.models import AuditEvent, WebhookEndpoint
from posfleet.models.enums import DeviceStatus, OutboxStatus
from posfleet.outbox.schedule import JITTER, WEBHOOK_SCHEDULE
from posfleet.outbox.worker import OutboxWorker
from posfleet.runtime import Runtime
from posfleet.webhooks import sender
from posfleet.webhooks.addresses import UnsafeAddress, check_destination
from posfleet.webhooks.schemas import EVENT_MODELS
from tests import factories
from tests.flow.admin.support import Admin
from tests.outbox.conftest import add_endpoint, attempts_of, entries_of, entry
from tests.outbox.receiver import WebhookReceiver
from tests.support.clients import asgi_transport

DEVICE_EVENTS = ["device.created", "device.updated", "device.blocked", "device.deleted"]


async def active_device(session: AsyncSession, owner: Admin) -> str:
    device = await factories.device(session, owner.tenant, status=DeviceStatus.ACTIVE)
    await session.commit()
    return device.uid


async def test_every_device_transition_arrives_signed_once_and_in_the_documented_shape(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant_admin: Admin,
    receiver: WebhookReceiver,
    session: AsyncSession,
) -> None:
    path = f"devices-{tenant_admin.tenant.uid}"
    await add_endpoint(client, tenant_admin, receiver, path, DEVICE_EVENTS)
    created = await client.post(
        tenant_admin.url(),
        json={"name": "Front till", "appCode": "CLIENT"},
        headers=tenant_admin.headers,
    )
    assert created.status_code == 201, created.text
    uid = created.json()["deviceUid"]
    renamed = await client.put(
        tenant_admin.url(f"/{uid}"), json={"name": "Back till"}, headers=tenant_admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    active = await active_device(session, tenant_admin)
    blocked = await client.put(
        tenant_admin.url(f"/{active}"), json={"status": "BLOCKED"}, headers=tenant_admin.headers
    )
    assert blocked.status_code == 200, blocked.text
    deleted = await client.delete(tenant_admin.url(f"/{uid}"), headers=tenant_admin.headers)
    assert deleted.status_code in (200, 204), deleted.text

    await OutboxWorker(runtime).run_once()

    # Messages of one round go out concurrently: order by the event's own time.
    got = sorted(await receiver.wait_for(path, 5), key=lambda r: r.payload["timestamp"])
    # A status change through PUT is both the transition and an update of the device.
    assert [r.payload["type"] for r in got] == [
        "device.created",
        "device.updated",
        "device.blocked",
        "device.updated",
        "device.deleted",
    ]
    assert all(r.verified for r in receiver.at(path))
    assert len({r.message_id for r in got}) == 5
    for received in got:  # each matches the model the OpenAPI documents for its type
        EVENT_MODELS[received.payload["type"]].model_validate(received.payload)
    assert all(r.message_id.startswith("msg_") for r in got)
    blocked_event = got[2].payload
    assert blocked_event["data"]["deviceUid"] == active
    assert blocked_event["data"]["status"] == "BLOCKED"
    assert blocked_event["data"]["actor"] == tenant_admin.user.user_code
    assert got[1].payload["data"]["changed"] == {"name": "Back till"}
    assert set(blocked_event) == {"type", "timestamp", "data"}


async def test_a_rolled_back_change_sends_nothing(
    client: httpx.AsyncClient, runtime: Runtime, tenant_admin: Admin, receiver: WebhookReceiver
) -> None:
    """The message is written in the change's unit of work: no change, no message."""
    created = await add_endpoint(
        client, tenant_admin, receiver, f"none-{tenant_admin.tenant.uid}", ["device.created"]
    )
    refused = await client.post(
        tenant_admin.url(),
        json={"name": "Till", "appCode": "CLIENT", "storeUid": "no-such-store"},
        headers=tenant_admin.headers,
    )
    assert refused.status_code in (400, 404)
    assert await entries_of(runtime, created["endpointUid"]) == []


async def test_a_tampered_body_or_an_old_timestamp_is_refused_by_the_verifier(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant_admin: Admin,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = f"tamper-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    test_url = f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}/test"
    assert (await client.post(test_url, headers=tenant_admin.headers)).status_code == 202
    await OutboxWorker(runtime).run_once()
    genuine = (await receiver.wait_for(path))[0]
    EVENT_MODELS["webhook.test"].model_validate(genuine.payload)

    headers = {k: v for k, v in genuine.headers.items() if k.startswith("webhook-")}
    tampered = genuine.body.replace(b"webhook.test", b"device.deleted")
    async with httpx.AsyncClient() as outsider:
        replay = await outsider.post(receiver.url(path), content=tampered, headers=headers)
    assert replay.status_code == 401
    assert receiver.at(path)[-1].error == "No matching signature found"

    # The sender itself signs with a timestamp ten minutes old: the receiver refuses it, and
    # the attempt is recorded as failed with the receiver's answer.
    monkeypatch.setattr(sender, "utcnow", lambda: utcnow() - timedelta(minutes=10))
    sent = await client.post(test_url, headers=tenant_admin.headers)
    await OutboxWorker(runtime).run_once()
    stale = receiver.at(path)[-1]
    assert (stale.message_id, stale.verified) == (sent.json()["messageId"], False)
    assert stale.error == "Message timestamp too old"
    row = await entry(runtime, sent.json()["messageId"])
    assert (row.status, row.attempts, row.last_status_code) == (OutboxStatus.PENDING, 1, 401)


async def test_retries_follow_the_schedule_and_a_dead_message_is_retried_by_hand(
    client: httpx.AsyncClient, runtime: Runtime, tenant_admin: Admin, receiver: WebhookReceiver
) -> None:
    path = f"failing-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    receiver.status = 500
    sent = await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}/test",
        headers=tenant_admin.headers,
    )
    message_id = sent.json()["messageId"]
    worker = OutboxWorker(runtime)
    now = utcnow()
    total = timedelta()
    for attempt, wait in enumerate([*WEBHOOK_SCHEDULE, None], start=1):
        await worker.run_once(now)
        row = await entry(runtime, message_id)
        assert row.attempts == attempt
        if wait is None:
            break
        waited = row.next_attempt_at - now
        assert wait * (1 - JITTER) <= waited <= wait * (1 + JITTER), (attempt, waited)
        # Not a moment before it is due.
        await worker.run_once(row.next_attempt_at - timedelta(seconds=1))
        assert (await entry(runtime, message_id)).attempts == attempt
        now = row.next_attempt_at
        total += waited
    assert row.status is OutboxStatus.DEAD
    assert timedelta(hours=20) < total < timedelta(hours=34)
    attempts = await attempts_of(runtime, row.id)
    assert [(a.ok, a.status_code) for a in attempts] == [(False, 500)] * 8

    dead = await client.get(
        f"/v2/tenants/{tenant_admin.tenant.uid}/outbox/dead", headers=tenant_admin.headers
    )
    assert message_id in [m["messageId"] for m in dead.json()["items"]]
    receiver.status = 204
    retried = await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/outbox/{message_id}/retry",
        headers=tenant_admin.headers,
    )
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "PENDING"
    await worker.run_once(now)
    assert (await entry(runtime, message_id)).status is OutboxStatus.SENT
    assert {r.message_id for r in receiver.at(path)} == {message_id}
    assert len(receiver.at(path)) == 9
    again = await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/outbox/{message_id}/retry",
        headers=tenant_admin.headers,
    )
    assert (again.status_code, again.json()["code"]) == (400, "message_not_dead")


async def test_the_delivery_log_shows_each_attempt_and_a_redelivery_keeps_the_webhook_id(
    client: httpx.AsyncClient, runtime: Runtime, tenant_admin: Admin, receiver: WebhookReceiver
) -> None:
    path = f"log-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    base = f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}"
    sent = await client.post(f"{base}/test", headers=tenant_admin.headers)
    message_id = sent.json()["messageId"]
    await OutboxWorker(runtime).run_once()

    log = await client.get(f"{base}/messages", headers=tenant_admin.headers)
    assert log.status_code == 200
    [item] = log.json()["items"]
    assert (item["messageId"], item["eventType"], item["status"]) == (
        message_id,
        "webhook.test",
        "SENT",
    )
    assert [(a["ok"], a["statusCode"]) for a in item["attemptLog"]] == [(True, 204)]

    again = await client.post(
        f"{base}/messages/{message_id}/redeliver", headers=tenant_admin.headers
    )
    assert again.status_code == 202, again.text
    await OutboxWorker(runtime).run_once()
    assert [r.message_id for r in await receiver.wait_for(path, 2)] == [message_id, message_id]


async def test_an_endpoint_failing_for_days_is_disabled_and_the_tenant_is_told(
    client: httpx.AsyncClient, runtime: Runtime, tenant_admin: Admin, receiver: WebhookReceiver
) -> None:
    failing = await add_endpoint(
        client, tenant_admin, receiver, f"down-{tenant_admin.tenant.uid}", ["device.created"]
    )
    watcher_path = f"watch-{tenant_admin.tenant.uid}"
    await add_endpoint(client, tenant_admin, receiver, watcher_path, ["endpoint.disabled"])
    receiver.secrets.pop(f"down-{tenant_admin.tenant.uid}")  # it answers 401 to everything
    base = f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{failing['endpointUid']}"
    worker = OutboxWorker(runtime)
    for day in (0, 3, 6):
        await client.post(f"{base}/test", headers=tenant_admin.headers)
        await worker.run_once(utcnow() + timedelta(days=day))

    endpoint = (await client.get(base, headers=tenant_admin.headers)).json()
    assert endpoint["enabled"] is False
    assert "failed for 5 days" in endpoint["disabledReason"]
    await worker.run_once(utcnow() + timedelta(days=6))
    [told] = await receiver.wait_for(watcher_path)
    assert told.payload["type"] == "endpoint.disabled"
    EVENT_MODELS["endpoint.disabled"].model_validate(told.payload)
    assert told.payload["data"]["endpointUid"] == failing["endpointUid"]
    async with runtime.read_sessionmaker() as reader:
        found = await reader.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tenant_admin.tenant.id,
                AuditEvent.action == "webhook endpoint disabled",
            )
        )
    assert found is not None
    assert found.actor == "system"

    enabled = await client.patch(base, json={"enabled": True}, headers=tenant_admin.headers)
    assert (enabled.json()["enabled"], enabled.json()["failingSince"]) == (True, None)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
        "http://user:pw@93.184.216.34/hook",
    ],
)
async def test_endpoints_on_private_addresses_are_refused_unless_allowed(
    make_settings: object, tenant_admin: Admin, url: str
) -> None:
    settings: Settings = make_settings(outbox_worker=False)  # type: ignore[operator]
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=asgi_transport(app), base_url="http://testserver") as guarded,
    ):
        response = await guarded.post(
            f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks",
            json={"url": url, "events": ["device.created"]},
            headers=tenant_admin.headers,
        )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_failed"


async def test_a_public_address_is_accepted_and_checked_again_before_each_request() -> None:
    await check_destination("https://93.184.216.34/hook", allow_private=False)
    with pytest.raises(UnsafeAddress):
        await check_destination("http://127.0.0.1/hook", allow_private=False)
    await check_destination("http://127.0.0.1/hook", allow_private=True)


async def test_unknown_event_types_and_bad_secrets_are_400(
    client: httpx.AsyncClient, tenant_admin: Admin, receiver: WebhookReceiver
) -> None:
    url = f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks"
    unknown = await client.post(
        url,
        json={"url": receiver.url("x"), "events": ["device.exploded"]},
        headers=tenant_admin.headers,
    )
    assert unknown.status_code == 400
    assert "device.exploded" in unknown.text
    weak = await client.post(
        url,
        json={"url": receiver.url("x"), "events": ["device.created"], "secret": "whsec_c2hvcnQ="},
        headers=tenant_admin.headers,
    )
    assert weak.status_code == 400


async def test_the_signing_secret_is_sealed_at_rest(
    client: httpx.AsyncClient, tenant_admin: Admin, receiver: WebhookReceiver, session: AsyncSession
) -> None:
    created = await add_endpoint(
        client, tenant_admin, receiver, f"sealed-{tenant_admin.tenant.uid}", ["device.created"]
    )
    row = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.uid == created["endpointUid"])
    )
    assert row is not None
    assert created["secret"].encode() not in row.sealed_secret
    assert created["secret"].removeprefix("whsec_").encode() not in row.sealed_secret
