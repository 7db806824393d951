"""Pairing codes sent from the device page, through real transports and the development outbox."""

from __future__ import annotations

import asyncio
import time
import uuid

from playwright.async_api import Locator, Page, expect

from posfleet.delivery.repository import DeliveryRepository
from posfleet.delivery.service import DeliveryService
from posfleet.devices.service import DeviceService
from posfleet.models import Device
from posfleet.models.enums import AppCode
from tests.commerce.receivers import PAIRING_CODE, GatewayReceiver, SmtpReceiver
from tests.e2e.browser.conftest import Live, Office, make_office, sign_in


async def _waiting_device(live: Live, office: Office) -> Device:
    async with live.runtime.sessionmaker() as session:
        device, _ = await DeviceService(session, live.runtime).create(
            office.tenant.id,
            name="Pop-up till",
            app_code=AppCode.CLIENT,
            actor="seed",
            store_uid=office.store.uid,
        )
        await session.commit()
    return device


async def _send(page: Page, channel: str, destination: str) -> None:
    await page.get_by_label("Send by").select_option(channel)
    await page.get_by_label("Email address or mobile number").fill(destination)
    await page.get_by_role("button", name="Send a pairing code").click()


async def _reload_until(page: Page, text: str, within: float = 15.0) -> Locator:
    """The newest delivery row, once the outbox worker has moved it to ``text``."""
    deadline = time.monotonic() + within
    while True:
        row = page.locator("#deliveries tbody tr").first
        if text in await row.inner_text() or time.monotonic() > deadline:
            await expect(row).to_contain_text(text)
            return row
        await asyncio.sleep(0.2)
        await page.reload()


async def test_a_pairing_code_sent_by_email_arrives_at_the_smtp_server(
    page: Page, live: Live, office: Office, smtp: SmtpReceiver
) -> None:
    """The code is mailed through SMTP, the page shows the delivery as SENT, and a bad address
    is refused beside the field."""
    device = await _waiting_device(live, office)
    await sign_in(page, live, office.admin)
    await page.goto(live.url(f"/backoffice/devices/{device.uid}"))
    await _send(page, "EMAIL", "not an address")
    await expect(page.locator("#destination-error")).to_contain_text(
        "The destination is not a valid email address"
    )
    await expect(page.get_by_label("Email address or mobile number")).to_have_value(
        "not an address"
    )
    address = f"kari.{uuid.uuid4().hex[:8]}@example.com"
    await _send(page, "EMAIL", address)
    await expect(page.get_by_role("status")).to_contain_text(
        "A pairing code is on its way by email"
    )
    assert PAIRING_CODE.search(await smtp.last_body(address))
    row = await _reload_until(page, "SENT")
    await expect(row).to_contain_text("EMAIL (smtp)")
    await row.get_by_role("button", name="Resend").click()
    await expect(page.locator("#pairing-error")).to_have_text(
        "A pairing code was sent for this device moments ago; wait before resending"
    )
    assert len(smtp.to(address)) == 1


async def test_a_failed_sms_is_shown_and_retried_with_a_fresh_code(
    page: Page, live: Live, office: Office, gateway: GatewayReceiver
) -> None:
    """A gateway outage is recorded as FAILED with its reason; Retry sends a new code."""
    device = await _waiting_device(live, office)
    number = f"+479{uuid.uuid4().int % 10**7:07d}"
    await sign_in(page, live, office.admin)
    await page.goto(live.url(f"/backoffice/devices/{device.uid}"))
    gateway.down = True
    await _send(page, "SMS", number)
    await expect(page.get_by_role("status")).to_contain_text("is on its way by SMS")
    row = await _reload_until(page, "FAILED")
    assert gateway.to(number) == []
    gateway.down = False
    await row.get_by_role("button", name="Retry").click()
    await expect(page.get_by_role("status")).to_contain_text("is on its way by SMS")
    assert await gateway.pairing_code(number)
    row = await _reload_until(page, "SENT")
    await expect(row).to_contain_text("2 attempts")


async def test_a_pairing_code_goes_to_the_development_outbox_without_transports(
    page: Page, live_outbox: Live
) -> None:
    """With no SMTP or gateway configured, a WhatsApp code is kept in the outbox; resending
    replaces it with a new one."""
    office = await make_office(live_outbox)
    device = await _waiting_device(live_outbox, office)
    await sign_in(page, live_outbox, office.admin)
    await page.goto(live_outbox.url(f"/backoffice/devices/{device.uid}"))
    await _send(page, "WHATSAPP", "+47 912 34 567")
    await expect(page.get_by_role("status")).to_contain_text("is on its way by WhatsApp")
    row = await _reload_until(page, "SENT")
    await expect(row).to_contain_text("WHATSAPP (outbox)")
    await row.get_by_role("button", name="Resend").click()
    await expect(page.locator("#deliveries tbody tr")).to_have_count(2)
    async with live_outbox.runtime.sessionmaker() as session:
        deliveries = await DeliveryService(session, live_outbox.runtime).of_device(
            office.tenant.id, device.id
        )
        kept = [
            message
            for delivery in deliveries
            for message in await DeliveryRepository(session).outbox_of(delivery.id)
        ]
    assert [m.recipient for m in kept] == ["+4791234567", "+4791234567"]
    codes = {found.group(1) for m in kept if (found := PAIRING_CODE.search(m.body))}
    assert len(codes) == 2
