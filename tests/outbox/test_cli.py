"""``posfleet webhooks``, ``posfleet outbox`` and ``posfleet events``, run as an operator would."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
from click.testing import Result

from posfleet.config import Settings
from posfleet.kit.clock import utcnow
from posfleet.models.enums import OutboxStatus
from posfleet.outbox.worker import OutboxWorker
from posfleet.runtime import Runtime
from tests.flow.admin.support import Admin
from tests.outbox.conftest import add_endpoint, entry
from tests.outbox.receiver import WebhookReceiver
from tests.support.cli import posfleet

# The suite's loopback only: a test endpoint that nothing listens on (the discard port).
HOOK = "http://127.0.0.1:9/hooks"
PRIVATE_ALLOWED = {"POSFLEET_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"}


async def run(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    return await asyncio.to_thread(posfleet, settings.database_url, *args, env=env)


async def test_an_operator_registers_lists_tests_and_removes_an_endpoint(
    settings: Settings, tenant_admin: Admin
) -> None:
    tenant = tenant_admin.tenant.uid
    added = await run(
        settings,
        "webhooks", "add", "--tenant", tenant, "--url", HOOK,
        "--event", "device.created", "--event", "device.blocked",
        env=PRIVATE_ALLOWED,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    uid = re.search(r"endpoint (\S+)", added.stdout)
    assert uid
    assert re.search(r"secret whsec_\S{32,}", added.stdout)
    listed = await run(settings, "webhooks", "list", "--tenant", tenant)
    assert f"{uid.group(1)}  enabled   {HOOK}" in listed.stdout
    assert "device.blocked,device.created" in listed.stdout
    assert "whsec_" not in listed.stdout

    tested = await run(
        settings, "webhooks", "test", "--tenant", tenant, uid.group(1), env=PRIVATE_ALLOWED
    )
    assert re.search(r"queued msg_\S+", tested.stdout)
    log = await run(settings, "webhooks", "log", "--tenant", tenant, uid.group(1))
    assert "PENDING  webhook.test" in log.stdout

    refused = await run(
        settings,
        "webhooks", "add", "--tenant", tenant, "--url", "http://127.0.0.1/hooks",
        "--event", "device.created",
    )  # fmt: skip
    assert refused.exit_code == 1
    disabled = await run(settings, "webhooks", "set", "--tenant", tenant, uid.group(1), "--disable")
    assert "disabled" in disabled.stdout
    removed = await run(settings, "webhooks", "remove", "--tenant", tenant, uid.group(1))
    assert removed.exit_code == 0
    assert uid.group(1) not in (await run(settings, "webhooks", "list", "--tenant", tenant)).stdout


async def test_a_dead_message_is_listed_and_retried_from_the_command_line(
    client: httpx.AsyncClient,
    settings: Settings,
    runtime: Runtime,
    tenant_admin: Admin,
    receiver: WebhookReceiver,
) -> None:
    path = f"cli-dead-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    receiver.status = 503
    sent = await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}/test",
        headers=tenant_admin.headers,
    )
    message_id = sent.json()["messageId"]
    worker = OutboxWorker(runtime)
    now = utcnow()
    for _ in range(8):
        await worker.run_once(now)
        now = (await entry(runtime, message_id)).next_attempt_at + timedelta(seconds=1)
    assert (await entry(runtime, message_id)).status is OutboxStatus.DEAD

    tenant = tenant_admin.tenant.uid
    dead = await run(settings, "outbox", "dead", "--tenant", tenant)
    assert f"{message_id}  DEAD" in dead.stdout
    receiver.status = 204
    retried = await run(settings, "outbox", "retry", "--tenant", tenant, message_id)
    assert retried.exit_code == 0, retried.output
    assert f"{message_id}  PENDING" in retried.stdout
    await worker.run_once(now)
    assert (await entry(runtime, message_id)).status is OutboxStatus.SENT
    again = await run(settings, "outbox", "retry", "--tenant", tenant, message_id)
    assert again.exit_code == 1
    assert "Only a dead message can be retried" in again.output


async def test_the_events_command_prints_the_timeline(
    client: httpx.AsyncClient, settings: Settings, tenant_admin: Admin
) -> None:
    created = await client.post(
        tenant_admin.url(), json={"name": "Till", "appCode": "CLIENT"}, headers=tenant_admin.headers
    )
    uid = created.json()["deviceUid"]
    await client.put(
        tenant_admin.url(f"/{uid}"), json={"name": "Till 2"}, headers=tenant_admin.headers
    )
    tenant = tenant_admin.tenant.uid
    printed = await run(settings, "events", "--tenant", tenant, "--device", uid)
    assert printed.exit_code == 0, printed.output
    lines = printed.stdout.splitlines()
    assert "updated" in lines[0]
    assert f"user:{tenant_admin.user.user_code}" in lines[0]
    assert "created" in lines[1]
    assert lines[-1] == "page 1, 2 event(s) in all"
    only = await run(settings, "events", "--tenant", tenant, "--action", "created", "--json")
    assert '"action": "created"' in only.stdout
    assert "updated" not in only.stdout
