"""Commerce Engine tests: a real SMTP server and HTTP gateway receive every code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apikeys.service import ApiKeyService
from posfleet.config import Settings
from posfleet.models import Delivery, Device, Store, Tenant, TenantUser
from posfleet.models.enums import AccountType, DeliveryChannel, DeliveryStatus, DeviceStatus
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from tests import factories
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver, start_gateway, start_smtp

GATEWAY_SECRET = "gateway-secret-for-tests"


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpReceiver]:
    controller, receiver = start_smtp()
    yield receiver
    controller.stop()


@pytest.fixture(scope="session")
def _gateway_server() -> Iterator[GatewayReceiver]:
    server, receiver = start_gateway(GATEWAY_SECRET.encode())
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(_gateway_server: GatewayReceiver) -> Iterator[GatewayReceiver]:
    _gateway_server.down = False
    yield _gateway_server
    _gateway_server.down = False


@pytest.fixture
def delivery_settings(smtp: SmtpReceiver, gateway: GatewayReceiver) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "sms_gateway_url": gateway.url,
        "sms_gateway_secret": GATEWAY_SECRET,
        "rate_limit_per_address": 1000,
        "login_rate_limit_per_address": 1000,
        "otp_sends_per_recipient": 1000,
        # A failing delivery is FAILED at its first attempt, so that these tests need not move
        # the clock through the backoff (tests/outbox covers retries and their schedule).
        "delivery_max_attempts": 1,
    }


@pytest.fixture
def settings(make_settings: Callable[..., Settings], delivery_settings: dict[str, Any]) -> Settings:
    return make_settings(**delivery_settings)


@dataclass
class World:
    """A tenant with two stores, people who work there, a device waiting to pair, and a key."""

    tenant: Tenant
    store: Store
    other_store: Store
    cashier: TenantUser
    colleague: TenantUser
    device: Device
    api_key: str

    @property
    def base(self) -> str:
        return f"/api/v1/{self.tenant.uid}/storefront"

    def mail(self, name: str) -> str:
        """An address unique to this world, so that the shared mailbox never mixes tests."""
        return f"{name}.{self.tenant.uid}@example.com"

    @property
    def key_headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}


def phone_number() -> tuple[str, str]:
    """A unique Norwegian-looking mobile number: (national, E.164)."""
    import random

    national = str(random.randint(40_000_000, 99_999_999))
    return national, f"+47{national}"


async def make_world(session: AsyncSession, runtime: Runtime) -> World:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant, name="Main Street")
    other = await factories.store(session, tenant, name="Harbour")
    mobile, _ = phone_number()
    cashier = await factories.user(
        session,
        tenant,
        account_type=AccountType.REGULAR,
        stores=[store],
        first_name="Kari",
        last_name="Nordmann",
        mobile=mobile,
        mobile_country_code="+47",
    )
    colleague_mobile, _ = phone_number()
    colleague = await factories.user(
        session,
        tenant,
        account_type=AccountType.REGULAR,
        stores=[store],
        first_name="Ola",
        last_name="Hansen",
        mobile=colleague_mobile,
        mobile_country_code="+47",
    )
    device = await factories.device(
        session,
        tenant,
        store=store,
        status=DeviceStatus.READY_TO_LINK,
        name="Front till",
        vendor="Sunmi",
        model_number="T2s",
        mac_address="00:1A:2B:3C:4D:5E",
        external_device_id="SN-12345",
    )
    issued = await ApiKeyService(session, runtime).create(tenant.uid, "front POS")
    await session.commit()
    return World(tenant, store, other, cashier, colleague, device, issued.secret)


@pytest.fixture
async def world(session: AsyncSession, runtime: Runtime) -> World:
    return await make_world(session, runtime)


async def send_pairing_code(
    runtime: Runtime, world: World, destination: str, channel: DeliveryChannel
) -> None:
    async with runtime.sessionmaker() as session:
        await PairingService(session, runtime).send(
            world.tenant, world.device.uid, channel, destination, "admin"
        )
        await session.commit()


async def pair(client: httpx.AsyncClient, world: World, code: str) -> httpx.Response:
    return await client.post(
        f"{world.base}/pos/auth/pair-device", json={"pairing_code": code}, headers=world.key_headers
    )


async def sign_in(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, user: TenantUser | None = None
) -> dict[str, Any]:
    """Email login + OTP from the mailbox; returns verify-otp's content."""
    user = user or world.cashier
    started = await client.post(
        f"{world.base}/pos/auth/login/email",
        json={"location_id": world.store.uid, "email": user.email},
        headers=world.key_headers,
    )
    assert started.status_code == 200, started.text
    verified = await client.post(
        f"{world.base}/pos/auth/verify-otp",
        json={
            "otp": await smtp.otp(user.email),
            "otp_token": started.json()["content"]["otp_token"],
            "otp_action": "login",
        },
        headers=world.key_headers,
    )
    assert verified.status_code == 200, verified.text
    content: dict[str, Any] = verified.json()["content"]
    return content


async def settled(runtime: Runtime, delivery_uid: str, within: float = 10.0) -> Delivery:
    """The delivery once the outbox worker is done with it (SENT or FAILED)."""
    deadline = time.monotonic() + within
    while True:
        async with runtime.read_sessionmaker() as s:
            delivery = await s.scalar(select(Delivery).where(Delivery.uid == delivery_uid))
        assert delivery is not None
        if delivery.status is not DeliveryStatus.QUEUED:
            return delivery
        assert time.monotonic() < deadline, f"delivery {delivery_uid} is still queued"
        await asyncio.sleep(0.02)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
