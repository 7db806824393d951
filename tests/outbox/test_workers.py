"""``posfleet worker`` processes: killed mid-send, nothing is lost; two of them on PostgreSQL
send each of 1,000 messages exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.models import OutboxEntry, WebhookEndpoint
from posfleet.models.enums import OutboxStatus
from posfleet.runtime import Runtime
from posfleet.webhooks.service import WebhookService
from tests.flow.admin.support import Admin
from tests.outbox.conftest import add_endpoint, entry
from tests.outbox.receiver import WebhookReceiver
from tests.support.server import START_TIMEOUT, settings_environment

LEASE_SECONDS = 5


@contextmanager
def worker_process(
    settings: Settings, workdir: Path, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``posfleet worker`` in a process of its own, with the test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")}
    env.update(settings_environment(settings))
    env.update(
        POSFLEET_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        POSFLEET_OUTBOX_POLL_INTERVAL_SECONDS="0.2",
        POSFLEET_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
    )
    log = (workdir / f"{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from posfleet.cli import main; main()", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def test_a_worker_killed_mid_send_is_replaced_and_the_message_arrives_with_its_id(
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    tenant_admin: Admin,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    path = f"killed-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    receiver.hold.set()  # the first request waits for an answer that never comes
    sent = await client.post(
        f"/v2/tenants/{tenant_admin.tenant.uid}/webhooks/{created['endpointUid']}/test",
        headers=tenant_admin.headers,
    )
    message_id = sent.json()["messageId"]

    with worker_process(settings, tmp_path, "first") as first:
        deadline = time.monotonic() + START_TIMEOUT  # the process starts, then sends
        while not receiver.at(path):
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            await asyncio.sleep(0.05)
        first.kill()  # SIGKILL mid-send: no chance to record anything
        first.wait()
    receiver.hold.clear()
    assert (await entry(runtime, message_id)).status is OutboxStatus.PENDING

    with worker_process(settings, tmp_path, "second"):
        arrived = await receiver.wait_for(path, 2, within=LEASE_SECONDS + 15)
    # The first request reached the receiver but was never answered; the second is the
    # documented duplicate, under the same webhook-id.
    assert [r.message_id for r in receiver.at(path)] == [message_id, message_id]
    assert arrived[1].payload == arrived[0].payload
    row = await entry(runtime, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)


async def test_two_replicas_send_each_of_a_thousand_messages_exactly_once(
    backend: str,
    client: httpx.AsyncClient,
    runtime: Runtime,
    settings: Settings,
    tenant_admin: Admin,
    receiver: WebhookReceiver,
    session: AsyncSession,
    tmp_path: Path,
) -> None:
    if backend != "postgresql":
        pytest.skip("several replicas share a database only on PostgreSQL")
    path = f"replicas-{tenant_admin.tenant.uid}"
    created = await add_endpoint(client, tenant_admin, receiver, path, ["device.created"])
    with (
        worker_process(settings, tmp_path, "replica-a"),
        worker_process(settings, tmp_path, "replica-b"),
    ):
        webhooks = WebhookService(session, runtime)
        for number in range(1000):
            await webhooks.publish(tenant_admin.tenant.id, "device.created", {"n": number})
            if number % 100 == 99:
                await session.commit()
        await receiver.wait_for(path, 1000, within=180)
        await asyncio.sleep(1.0)  # room for any duplicate to show up
    ids = Counter(r.message_id for r in receiver.at(path))
    assert len(ids) == 1000
    assert set(ids.values()) == {1}
    assert sorted(r.payload["data"]["n"] for r in receiver.at(path)) == list(range(1000))
    async with runtime.read_sessionmaker() as reader:
        statuses = dict(
            (
                await reader.execute(
                    select(OutboxEntry.status, func.count())
                    .join(WebhookEndpoint, WebhookEndpoint.id == OutboxEntry.endpoint_id)
                    .where(WebhookEndpoint.uid == created["endpointUid"])
                    .group_by(OutboxEntry.status)
                )
            ).all()
        )
    assert statuses == {OutboxStatus.SENT: 1000}
