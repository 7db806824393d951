"""POST /pos/auth/pair-device with codes an admin had delivered by email, SMS or WhatsApp."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import TooManyRequests
from posfleet.kit.clock import utcnow
from posfleet.models import Delivery, Device, PairingCode
from posfleet.models.enums import CodeState, DeliveryChannel, DeliveryStatus, DeviceStatus
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, pair, phone_number, send_pairing_code, settled
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver


async def test_a_code_delivered_by_email_pairs_the_device_and_activates_it(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    await send_pairing_code(runtime, world, world.mail("pos.owner"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(world.mail("pos.owner"))

    response = await pair(client, world, code)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert isinstance(body["message"], str)
    device = body["content"]["device"]
    assert device == {
        "id": world.device.uid,
        "name": "Front till",
        "device_type": "pos-terminal",
        "external_device_id": "SN-12345",
        "vendor": "Sunmi",
        "model_number": "T2s",
        "mac_address": "00:1A:2B:3C:4D:5E",
        "location_id": world.store.uid,
        "location_name": "Main Street",
        "claimed_by": None,
        "status": "available",
        "is_busy": False,
    }
    async with runtime.sessionmaker() as session:
        stored = await session.scalar(select(Device).where(Device.id == world.device.id))
        assert stored is not None
        assert stored.status is DeviceStatus.ACTIVE


@pytest.mark.parametrize("channel", [DeliveryChannel.SMS, DeliveryChannel.WHATSAPP])
async def test_a_code_delivered_through_the_gateway_pairs_the_device(
    client: httpx.AsyncClient,
    world: World,
    gateway: GatewayReceiver,
    runtime: Runtime,
    channel: DeliveryChannel,
) -> None:
    _, number = phone_number()
    await send_pairing_code(runtime, world, number, channel)
    code = await gateway.pairing_code(number)
    sent = gateway.to(number)[-1]
    assert sent["body"]["channel"] == channel.value.lower()

    response = await pair(client, world, code)

    assert response.status_code == 200, response.text
    assert response.json()["content"]["device"]["id"] == world.device.uid


async def test_a_code_is_accepted_in_lower_case_and_without_its_dash(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    await send_pairing_code(runtime, world, world.mail("casual"), DeliveryChannel.EMAIL)
    code = (await smtp.pairing_code(world.mail("casual"))).replace("-", "").lower()
    assert (await pair(client, world, code)).status_code == 200


async def test_a_spent_code_is_refused_as_used(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    await send_pairing_code(runtime, world, world.mail("once"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(world.mail("once"))
    assert (await pair(client, world, code)).status_code == 200

    again = await pair(client, world, code)

    assert again.status_code == 400
    assert again.json() == {
        "message": "The pairing code has already been used",
        "success": False,
        "code": "pairing_code_used",
    }


async def test_an_expired_code_is_refused_as_expired(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    await send_pairing_code(runtime, world, world.mail("late"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(world.mail("late"))
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(PairingCode)
            .where(PairingCode.device_id == world.device.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()

    response = await pair(client, world, code)

    assert response.status_code == 400
    assert response.json()["code"] == "pairing_code_expired"


async def test_an_unknown_code_is_refused_without_a_hint(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await pair(client, world, "ABCD-EFGH")
    assert response.status_code == 400
    assert response.json() == {
        "message": "The pairing code is not valid",
        "success": False,
        "code": "pairing_code_invalid",
    }


async def test_wrong_codes_slow_the_tenant_down_but_lock_no_live_code(
    client: httpx.AsyncClient,
    world: World,
    smtp: SmtpReceiver,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past pairing_guesses_per_tenant wrong codes every pairing attempt of the tenant is 429,
    the right code included; once the window has moved on the right code pairs."""
    await send_pairing_code(runtime, world, world.mail("target"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(world.mail("target"))
    # All guesses in one instant early in a window: the sliding estimate is then exactly their
    # count, whenever the test runs.
    window = runtime.settings.rate_limit_window_seconds
    epoch = int(utcnow().timestamp())
    guessing = datetime.fromtimestamp(epoch - epoch % window + 1, tz=UTC)
    monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: guessing)
    for _ in range(runtime.settings.pairing_guesses_per_tenant):
        assert (await pair(client, world, "ZZZZ-ZZZZ")).json()["code"] == "pairing_code_invalid"

    slowed = await pair(client, world, code)
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) >= 1
    async with runtime.sessionmaker() as session:
        stored = await session.scalar(select(Device).where(Device.id == world.device.id))
        assert stored is not None
        assert stored.status is DeviceStatus.READY_TO_LINK

    later = guessing + timedelta(seconds=2 * window)
    monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: later)
    response = await pair(client, world, code)
    assert response.status_code == 200, response.text


async def test_a_code_replaced_by_a_newer_one_no_longer_works(
    client: httpx.AsyncClient,
    world: World,
    smtp: SmtpReceiver,
    runtime: Runtime,
    make_settings: Callable[..., object],
) -> None:
    await send_pairing_code(runtime, world, world.mail("first"), DeliveryChannel.EMAIL)
    old = await smtp.pairing_code(world.mail("first"))
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(PairingCode)
            .where(PairingCode.device_id == world.device.id)
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
        await session.commit()
    await send_pairing_code(runtime, world, world.mail("second"), DeliveryChannel.EMAIL)

    assert (await pair(client, world, old)).json()["code"] == "pairing_code_revoked"
    fresh = await smtp.pairing_code(world.mail("second"))
    assert (await pair(client, world, fresh)).status_code == 200


async def test_a_code_of_another_tenant_is_unknown_here(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    from tests.commerce.conftest import make_world

    async with runtime.sessionmaker() as session:
        other = await make_world(session, runtime)
    await send_pairing_code(runtime, other, other.mail("foreign"), DeliveryChannel.EMAIL)
    code = await smtp.pairing_code(other.mail("foreign"))

    response = await pair(client, world, code)

    assert response.json()["code"] == "pairing_code_invalid"


async def test_resending_within_the_interval_is_throttled(
    world: World, runtime: Runtime, smtp: SmtpReceiver
) -> None:
    await send_pairing_code(runtime, world, world.mail("quick"), DeliveryChannel.EMAIL)
    with pytest.raises(TooManyRequests) as raised:
        await send_pairing_code(runtime, world, world.mail("quick"), DeliveryChannel.EMAIL)
    assert raised.value.code == "resend_throttled"
    assert await smtp.pairing_code(world.mail("quick"))
    assert len(smtp.to(world.mail("quick"))) == 1


async def test_the_stored_code_is_a_hash_and_the_destination_is_masked(
    world: World, runtime: Runtime, smtp: SmtpReceiver, session: AsyncSession
) -> None:
    await send_pairing_code(runtime, world, world.mail("kari.nordmann"), DeliveryChannel.EMAIL)
    code = (await smtp.pairing_code(world.mail("kari.nordmann"))).replace("-", "")
    row = (
        await session.scalars(select(PairingCode).where(PairingCode.device_id == world.device.id))
    ).one()
    assert row.code_hash == runtime.hasher.hash(code)
    assert code not in row.code_hash
    assert row.state is CodeState.LIVE
    queued = (
        await session.scalars(select(Delivery).where(Delivery.device_id == world.device.id))
    ).one()
    await session.commit()  # SQLite: let the worker write
    delivery = await settled(runtime, queued.uid)
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.destination_masked == "k***@example.com"


async def test_a_device_not_waiting_to_link_gets_no_code(
    world: World, runtime: Runtime, session: AsyncSession
) -> None:
    await session.execute(
        update(Device).where(Device.id == world.device.id).values(status=DeviceStatus.ACTIVE)
    )
    await session.commit()
    with pytest.raises(Exception, match="READY_TO_LINK"):
        async with runtime.sessionmaker() as s:
            await PairingService(s, runtime).send(
                world.tenant, world.device.uid, DeliveryChannel.EMAIL, world.mail("x"), "admin"
            )
