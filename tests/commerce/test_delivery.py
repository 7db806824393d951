"""Delivery records, a gateway that is down, retries, the development outbox and masking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.delivery.masking import mask_email, mask_phone
from posfleet.delivery.service import normalize_destination
from posfleet.errors import BadRequest, ValidationFailed
from posfleet.models import Delivery, Device, OutboxMessage
from posfleet.models.enums import DeliveryChannel, DeliveryStatus, DeviceStatus
from posfleet.outbox.worker import OutboxWorker
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, make_world, pair, phone_number
from tests.commerce.receivers import PAIRING_CODE, GatewayReceiver


@pytest.fixture
def settings(make_settings: Callable[..., Settings], delivery_settings: dict[str, Any]) -> Settings:
    """No worker runs by itself here: each test sends with ``OutboxWorker.run_once``, so that
    it knows which transport settings send its message."""
    return make_settings(**delivery_settings, outbox_worker=False)


async def test_a_gateway_that_is_down_fails_the_delivery_and_a_retry_delivers_a_working_code(
    client: httpx.AsyncClient, world: World, gateway: GatewayReceiver, runtime: Runtime
) -> None:
    _, number = phone_number()
    gateway.down = True
    async with runtime.sessionmaker() as session:
        sent = await PairingService(session, runtime).send(
            world.tenant, world.device.uid, DeliveryChannel.SMS, number, "admin"
        )
        await session.commit()
    assert sent.delivery.status is DeliveryStatus.QUEUED
    assert await OutboxWorker(runtime).run_once() >= 1
    failed = await delivery_of(runtime, sent.delivery.uid)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error == "gateway answered 503: gateway maintenance"
    assert gateway.to(number) == []

    gateway.down = False
    async with runtime.sessionmaker() as session:
        retried = await PairingService(session, runtime).retry(sent.delivery.uid, "admin")
        await session.commit()
    assert retried.delivery.uid == sent.delivery.uid
    assert retried.delivery.status is DeliveryStatus.QUEUED
    assert await OutboxWorker(runtime).run_once() >= 1

    delivered = await delivery_of(runtime, sent.delivery.uid)
    assert (delivered.status, delivered.attempts, delivered.error) == (DeliveryStatus.SENT, 2, "")
    response = await pair(client, world, await gateway.pairing_code(number))
    assert response.status_code == 200, response.text
    async with runtime.sessionmaker() as session:
        device = await session.scalar(select(Device).where(Device.id == world.device.id))
        assert device is not None
        assert device.status is DeviceStatus.ACTIVE
        assert device.name == "Front till"
        assert device.store_id == world.store.id


async def test_an_unreachable_gateway_is_recorded_with_the_reason(
    world: World, runtime: Runtime, make_settings: object
) -> None:
    from tests.support.server import free_port

    settings = runtime.settings.model_copy(
        update={"sms_gateway_url": f"http://127.0.0.1:{free_port()}/send"}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        rt: Runtime = app.state.runtime
        async with rt.sessionmaker() as session:
            sent = await PairingService(session, rt).send(
                world.tenant, world.device.uid, DeliveryChannel.WHATSAPP, "+4791234567", "admin"
            )
            await session.commit()
        await OutboxWorker(rt).run_once()
        failed = await delivery_of(rt, sent.delivery.uid)
    assert failed.status is DeliveryStatus.FAILED
    assert failed.error.startswith("gateway unreachable: ConnectError")
    assert failed.destination_masked == "+47*****567"


async def test_a_sent_delivery_cannot_be_retried(
    world: World, runtime: Runtime, gateway: GatewayReceiver
) -> None:
    _, number = phone_number()
    async with runtime.sessionmaker() as session:
        sent = await PairingService(session, runtime).send(
            world.tenant, world.device.uid, DeliveryChannel.SMS, number, "admin"
        )
        await session.commit()
    await OutboxWorker(runtime).run_once()
    assert (await delivery_of(runtime, sent.delivery.uid)).status is DeliveryStatus.SENT
    async with runtime.sessionmaker() as session:
        with pytest.raises(BadRequest) as raised:
            await PairingService(session, runtime).retry(sent.delivery.uid, "admin")
    assert raised.value.code == "delivery_not_failed"


async def test_with_nothing_configured_the_outbox_keeps_the_message(
    make_settings: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    bare = runtime.settings.model_copy(update={"smtp_host": None, "sms_gateway_url": None})
    app = create_app(bare)
    async with app.router.lifespan_context(app):
        rt: Runtime = app.state.runtime
        async with rt.sessionmaker() as session:
            world = await make_world(session, rt)
        async with rt.sessionmaker() as session:
            sent = await PairingService(session, rt).send(
                world.tenant, world.device.uid, DeliveryChannel.EMAIL, "dev@example.com", "admin"
            )
            await session.commit()
        await OutboxWorker(rt).run_once()
        async with rt.sessionmaker() as session:
            kept = (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.delivery_id == sent.delivery.id)
                )
            ).one()
            delivery = await session.scalar(select(Delivery).where(Delivery.id == sent.delivery.id))
    assert delivery is not None
    assert (delivery.transport, delivery.status) == ("outbox", DeliveryStatus.SENT)
    assert kept.recipient == "dev@example.com"
    found = PAIRING_CODE.search(kept.body)
    assert found
    assert (await pair(client, world, found.group(1))).status_code == 200


def test_destinations_are_masked() -> None:
    assert mask_email("kari.nordmann@example.com") == "k***@example.com"
    assert mask_phone("+4791234567") == "+47*****567"


def test_destinations_are_validated_per_channel() -> None:
    assert normalize_destination(DeliveryChannel.SMS, "0047 912 34 567") == "+4791234567"
    with pytest.raises(ValidationFailed):
        normalize_destination(DeliveryChannel.EMAIL, "not-an-address")
    with pytest.raises(ValidationFailed):
        normalize_destination(DeliveryChannel.WHATSAPP, "91234567")


async def delivery_of(runtime: Runtime, uid: str) -> Delivery:
    async with runtime.sessionmaker() as session:
        found = await session.scalar(select(Delivery).where(Delivery.uid == uid))
    assert found is not None
    return found
