"""Outbox and webhook tests: a real webhook receiver on loopback; the worker is driven by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.models import OutboxAttempt, OutboxEntry
from posfleet.runtime import Runtime
from tests.flow.admin.support import Admin, admin
from tests.outbox.receiver import WebhookReceiver, running_receiver


@pytest.fixture(scope="session")
def _receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def receiver(_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    _receiver.status = 204
    _receiver.hold.clear()
    yield _receiver
    _receiver.hold.clear()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # No worker runs by itself: each test says when a round happens, and at what time.
    return make_settings(webhook_allow_private_addresses=True, outbox_worker=False)


@pytest.fixture
async def tenant_admin(session: AsyncSession, runtime: Runtime) -> Admin:
    return await admin(session, runtime)


async def add_endpoint(
    client: httpx.AsyncClient,
    owner: Admin,
    receiver: WebhookReceiver,
    path: str,
    events: list[str],
    **extra: Any,
) -> dict[str, Any]:
    """Register ``receiver``'s ``path`` for ``events``; the receiver learns the secret."""
    response = await client.post(
        f"/v2/tenants/{owner.tenant.uid}/webhooks",
        json={"url": receiver.url(path), "events": events, **extra},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets[path] = created["secret"]
    return created


async def entry(runtime: Runtime, message_id: str) -> OutboxEntry:
    async with runtime.sessionmaker() as session:
        found = await session.scalar(select(OutboxEntry).where(OutboxEntry.uid == message_id))
    assert found is not None
    return found


async def entries_of(runtime: Runtime, endpoint_uid: str) -> list[OutboxEntry]:
    from posfleet.models import WebhookEndpoint

    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEntry)
            .join(WebhookEndpoint, WebhookEndpoint.id == OutboxEntry.endpoint_id)
            .where(WebhookEndpoint.uid == endpoint_uid)
            .order_by(OutboxEntry.id)
        )
        return list(rows)


async def attempts_of(runtime: Runtime, entry_id: int) -> list[OutboxAttempt]:
    async with runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxAttempt)
            .where(OutboxAttempt.entry_id == entry_id)
            .order_by(OutboxAttempt.id)
        )
        return list(rows)
