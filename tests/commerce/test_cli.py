"""``posfleet apikeys`` and ``posfleet pairing``, run as an operator would, on both engines."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from posfleet.cli import app
from posfleet.config import Settings
from tests.commerce.conftest import GATEWAY_SECRET, World, pair, phone_number
from tests.commerce.receivers import GatewayReceiver, SmtpReceiver


async def posfleet(settings: Settings, *args: str) -> Result:
    env = {
        "POSFLEET_DATABASE_URL": settings.database_url,
        "POSFLEET_SECRET_KEY": settings.secret().decode(),
        "POSFLEET_ENVIRONMENT": "test",
        "POSFLEET_LOG_LEVEL": "warning",
        "POSFLEET_SMTP_HOST": settings.smtp_host or "",
        "POSFLEET_SMTP_PORT": str(settings.smtp_port),
        "POSFLEET_SMS_GATEWAY_URL": settings.sms_gateway_url or "",
        "POSFLEET_SMS_GATEWAY_SECRET": GATEWAY_SECRET,
        "POSFLEET_DELIVERY_MAX_ATTEMPTS": str(settings.delivery_max_attempts),
    }
    return await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env=env, catch_exceptions=False
    )


async def test_an_api_key_is_printed_once_listed_without_it_and_revoked(
    client: httpx.AsyncClient, world: World, settings: Settings
) -> None:
    created = await posfleet(
        settings, "apikeys", "create", "--tenant", world.tenant.uid, "--name", "till app"
    )
    assert created.exit_code == 0, created.output
    key = re.search(r"key \(shown once\): (\S+)", created.stdout)
    key_id = re.search(r"id: (\S+)", created.stdout)
    assert key
    assert key_id
    url = f"{world.base}/pos/locations"
    assert (await client.get(url, headers={"X-Api-Key": key.group(1)})).status_code == 200

    listed = await posfleet(settings, "apikeys", "list", "--tenant", world.tenant.uid)
    assert key_id.group(1) in listed.stdout
    assert key.group(1) not in listed.stdout

    revoked = await posfleet(settings, "apikeys", "revoke", "--", key_id.group(1))
    assert revoked.exit_code == 0, revoked.output
    assert (await client.get(url, headers={"X-Api-Key": key.group(1)})).status_code == 401
    assert (
        "revoked"
        in (await posfleet(settings, "apikeys", "list", "--tenant", world.tenant.uid)).stdout
    )


async def test_pairing_send_by_email_delivers_a_working_code(
    client: httpx.AsyncClient, world: World, settings: Settings, smtp: SmtpReceiver
) -> None:
    address = world.mail("cli")
    result = await posfleet(
        settings,
        "pairing",
        "send",
        "--tenant",
        world.tenant.uid,
        "--device",
        world.device.uid,
        "--email",
        address,
    )
    assert result.exit_code == 0, result.output
    assert "EMAIL to c***@example.com via smtp: SENT" in result.stdout
    assert (await pair(client, world, await smtp.pairing_code(address))).status_code == 200


@pytest.mark.latency
async def test_pairing_by_whatsapp_with_the_gateway_down_fails_and_a_retry_delivers(
    client: httpx.AsyncClient, world: World, settings: Settings, gateway: GatewayReceiver
) -> None:
    _, number = phone_number()
    gateway.down = True
    failed = await posfleet(
        settings,
        "pairing",
        "send",
        "--tenant",
        world.tenant.uid,
        "--device",
        world.device.uid,
        "--phone",
        number,
        "--whatsapp",
    )
    assert failed.exit_code == 1
    assert "WHATSAPP" in failed.stdout
    assert "FAILED (gateway answered 503: gateway maintenance)" in failed.stdout
    delivery = re.search(r"delivery (\S+):", failed.stdout)
    assert delivery

    gateway.down = False
    retried = await posfleet(settings, "pairing", "retry", "--", delivery.group(1))

    assert retried.exit_code == 0, retried.output
    assert "SENT" in retried.stdout
    assert (await pair(client, world, await gateway.pairing_code(number))).status_code == 200


async def test_pairing_send_needs_exactly_one_destination(world: World, settings: Settings) -> None:
    result = await posfleet(
        settings, "pairing", "send", "--tenant", world.tenant.uid, "--device", world.device.uid
    )
    assert result.exit_code != 0
