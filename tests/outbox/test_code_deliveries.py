"""Code deliveries go through the outbox: a request answers while the mail server stalls, and
the code waits sealed until it is sent."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.models import Delivery, OutboxEntry
from posfleet.models.enums import DeliveryStatus, OutboxStatus
from posfleet.runtime import Runtime
from tests import factories
from tests.commerce.receivers import PAIRING_CODE
from tests.flow.admin.support import Admin
from tests.support.server import free_port


class StallingMailbox:
    """An SMTP server that takes mail only while ``stall`` is clear."""

    def __init__(self) -> None:
        self.stall = threading.Event()
        self.bodies: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        while self.stall.is_set():  # noqa: ASYNC110 -- set from the test's thread, not this loop
            await asyncio.sleep(0.02)
        message = message_from_bytes(envelope.content)
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        self.bodies.append(payload.decode())
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def stalling_smtp() -> Iterator[tuple[int, StallingMailbox]]:
    mailbox = StallingMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    mailbox.stall.clear()
    controller.stop()


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], stalling_smtp: tuple[int, StallingMailbox]
) -> Settings:
    # The server's own worker sends, as in production.
    return make_settings(
        smtp_host="127.0.0.1",
        smtp_port=stalling_smtp[0],
        smtp_timeout_seconds=30,
        outbox_poll_interval_seconds=0.2,
    )


async def test_a_pairing_request_answers_at_once_while_the_mail_server_stalls(
    client: httpx.AsyncClient,
    runtime: Runtime,
    tenant_admin: Admin,
    session: AsyncSession,
    stalling_smtp: tuple[int, StallingMailbox],
) -> None:
    _, mailbox = stalling_smtp
    device = await factories.device(session, tenant_admin.tenant, store=tenant_admin.store)
    await session.commit()
    address = f"stalled.{tenant_admin.tenant.uid}@example.com"
    mailbox.stall.set()
    try:
        started = time.monotonic()
        response = await client.post(
            f"/v2/tenants/{tenant_admin.tenant.uid}/devices/{device.uid}/pairing-codes",
            json={"channel": "EMAIL", "destination": address},
            headers=tenant_admin.headers,
        )
        answered_in = time.monotonic() - started
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "QUEUED"
        assert answered_in < 2.0

        # While it waits, the code is sealed: the stored message is not readable text.
        async with runtime.read_sessionmaker() as reader:
            waiting = await reader.scalar(
                select(OutboxEntry)
                .join(Delivery, Delivery.id == OutboxEntry.delivery_id)
                .where(Delivery.uid == response.json()["deliveryUid"])
            )
        assert waiting is not None
        assert waiting.sealed is not None
        assert b"pairing code" not in waiting.sealed
        assert address.encode() not in waiting.sealed
        await asyncio.sleep(0.5)
        assert mailbox.bodies == [] or all(address not in b for b in mailbox.bodies)
    finally:
        mailbox.stall.clear()

    deadline = time.monotonic() + 15
    while True:
        async with runtime.read_sessionmaker() as reader:
            delivery = await reader.scalar(
                select(Delivery).where(Delivery.uid == response.json()["deliveryUid"])
            )
            entry = await reader.scalar(select(OutboxEntry).where(OutboxEntry.id == waiting.id))
        assert delivery is not None
        assert entry is not None
        if delivery.status is not DeliveryStatus.QUEUED or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    # Sent: the sealed code is blanked.
    assert (entry.status, entry.sealed) == (OutboxStatus.SENT, None)
    assert any(PAIRING_CODE.search(body) for body in mailbox.bodies)
