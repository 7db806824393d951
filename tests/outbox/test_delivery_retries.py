"""A code delivery that keeps failing backs off exponentially, then dies with its code blanked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.kit.clock import utcnow
from posfleet.models import Delivery, OutboxEntry
from posfleet.models.enums import DeliveryChannel, DeliveryStatus, OutboxStatus
from posfleet.outbox.schedule import JITTER
from posfleet.outbox.worker import OutboxWorker
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from tests import factories
from tests.commerce.receivers import GatewayReceiver, start_gateway
from tests.flow.admin.support import Admin
from tests.outbox.conftest import attempts_of

SECRET = "gateway-secret-for-retries"


@pytest.fixture(scope="module")
def down_gateway() -> Iterator[GatewayReceiver]:
    server, receiver = start_gateway(SECRET.encode())
    receiver.down = True
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], down_gateway: GatewayReceiver) -> Settings:
    return make_settings(
        sms_gateway_url=down_gateway.url, sms_gateway_secret=SECRET, outbox_worker=False
    )


async def test_a_failing_code_delivery_backs_off_exponentially_then_dies_blanked(
    runtime: Runtime, tenant_admin: Admin, session: AsyncSession, down_gateway: GatewayReceiver
) -> None:
    device = await factories.device(session, tenant_admin.tenant, store=tenant_admin.store)
    await session.commit()
    sent = await PairingService(session, runtime).send(
        tenant_admin.tenant, device.uid, DeliveryChannel.SMS, "+4791234567", "admin"
    )
    await session.commit()
    worker = OutboxWorker(runtime)
    base = runtime.settings.delivery_retry_base_seconds
    now = utcnow() + timedelta(seconds=1)
    for attempt in range(1, runtime.settings.delivery_max_attempts + 1):
        await worker.run_once(now)
        async with runtime.read_sessionmaker() as reader:
            entry = await reader.scalar(
                select(OutboxEntry).where(OutboxEntry.delivery_id == sent.delivery.id)
            )
            delivery = await reader.scalar(select(Delivery).where(Delivery.id == sent.delivery.id))
        assert entry is not None
        assert delivery is not None
        assert (entry.attempts, delivery.attempts) == (attempt, attempt)
        assert delivery.error == "gateway answered 503: gateway maintenance"
        if attempt == runtime.settings.delivery_max_attempts:
            break
        assert delivery.status is DeliveryStatus.QUEUED
        assert entry.sealed is not None
        wait = timedelta(seconds=base * 2 ** (attempt - 1))
        waited = entry.next_attempt_at - now
        assert wait * (1 - JITTER) <= waited <= wait * (1 + JITTER), (attempt, waited)
        now = entry.next_attempt_at
    assert (entry.status, entry.sealed) == (OutboxStatus.DEAD, None)
    assert delivery.status is DeliveryStatus.FAILED
    attempts = await attempts_of(runtime, entry.id)
    assert [a.ok for a in attempts] == [False] * runtime.settings.delivery_max_attempts
