"""Webhook endpoints run from the back office, checked at a receiver that verifies every request
with the standardwebhooks verifier."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

from playwright.async_api import Page, expect

from posfleet.kit.clock import utcnow
from posfleet.models.enums import OutboxStatus
from posfleet.outbox.service import OutboxService
from posfleet.outbox.worker import OutboxWorker
from posfleet.webhooks.service import WebhookService
from tests.e2e.browser.conftest import Live, Office, make_office, sign_in
from tests.outbox.receiver import WebhookReceiver


async def _add_endpoint(page: Page, live: Live, url: str, *events: str) -> None:
    await page.goto(live.url("/backoffice/webhooks"))
    await page.get_by_label("URL", exact=True).fill(url)
    for event in events:
        await page.get_by_label(event, exact=True).check()
    await page.get_by_role("button", name="Add endpoint").click()


async def _reload_until(page: Page, selector: str, text: str, within: float = 15.0) -> None:
    """The worker records an attempt just after the receiver answers: reload until it shows."""
    deadline = time.monotonic() + within
    while text not in await page.locator(selector).inner_text():
        assert time.monotonic() < deadline, f"{text!r} never showed in {selector}"
        await asyncio.sleep(0.2)
        await page.reload()


async def test_an_endpoint_added_on_the_page_gets_a_signed_test_event_logged_and_sent_again(
    page: Page, live: Live, office: Office, webhook_receiver: WebhookReceiver
) -> None:
    """The secret shown once verifies the test event at the receiver; the delivery log shows
    the answer's status code, and sending the message again delivers the same webhook-id."""
    path = f"bo-{office.tenant.uid}"
    await sign_in(page, live, office.admin)
    await page.get_by_role("link", name="Webhooks").click()
    await _add_endpoint(page, live, webhook_receiver.url(path), "device.blocked")
    await expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
    secret = await page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    webhook_receiver.secrets[path] = secret

    await page.get_by_role("link", name="Go to the endpoint").click()
    await expect(page.locator("#endpoint-url")).to_have_text(webhook_receiver.url(path))
    await page.get_by_role("button", name="Send a test event").click()
    await expect(page.get_by_role("status")).to_contain_text("test event")
    (first,) = await webhook_receiver.wait_for(path)
    assert first.payload["type"] == "webhook.test"
    await _reload_until(page, "#log", "HTTP 204")
    await expect(page.locator("#log")).to_contain_text(first.message_id)
    await expect(page.locator("#log")).to_contain_text("SENT")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768  # the log and the edit form fit a tablet held upright

    await page.get_by_role("button", name=f"Send {first.message_id} again").click()
    await expect(page.get_by_role("status")).to_contain_text("same webhook-id")
    received = await webhook_receiver.wait_for(path, 2)
    assert [r.message_id for r in received] == [first.message_id, first.message_id]
    attempts = page.locator("#log tbody tr").filter(has_text=first.message_id).locator(".attempt")
    deadline = time.monotonic() + 15
    while await attempts.count() < 2:
        assert time.monotonic() < deadline, "the second attempt never showed in the log"
        await asyncio.sleep(0.2)
        await page.reload()
    await expect(attempts).to_have_text([re.compile("HTTP 204")] * 2)


async def test_an_endpoint_is_changed_its_secret_rotated_and_deleted_after_asking(
    page: Page, live: Live, office: Office, webhook_receiver: WebhookReceiver
) -> None:
    """Edits are saved as PATCH saves them, a rotated secret is shown once and replaces the
    old one, and delete asks first."""
    path = f"bo-edit-{office.tenant.uid}"
    await sign_in(page, live, office.admin)
    await _add_endpoint(page, live, webhook_receiver.url(path), "device.created")
    first_secret = await page.get_by_label("Signing secret").input_value()
    await page.get_by_role("link", name="Go to the endpoint").click()

    await page.get_by_label("URL", exact=True).fill("gopher://example.com/")
    await page.get_by_role("button", name="Save the endpoint").click()
    await expect(page.locator("#edit-error")).to_contain_text("must be an http or https URL")
    await expect(page.locator("#endpoint-url")).to_have_text(webhook_receiver.url(path))
    await page.get_by_label("URL", exact=True).fill(webhook_receiver.url(path + "-2"))
    await page.get_by_label("device.deleted", exact=True).check()
    await page.get_by_label("Enabled: send events to this URL").uncheck()
    await page.get_by_role("button", name="Save the endpoint").click()
    await expect(page.get_by_role("status")).to_have_text("The endpoint is saved.")
    await expect(page.locator("#endpoint-url")).to_have_text(webhook_receiver.url(path + "-2"))
    await expect(page.locator("#endpoint-state")).to_have_text("disabled")

    await page.get_by_role("button", name="Rotate the signing secret").click()
    second_secret = await page.get_by_label("Signing secret").input_value()
    assert second_secret.startswith("whsec_")
    assert second_secret != first_secret
    async with live.runtime.sessionmaker() as session:
        service = WebhookService(session, live.runtime)
        (endpoint,) = await service.of_tenant(office.tenant.id)
        assert service.secret_of(endpoint) == second_secret
        assert endpoint.events == ["device.created", "device.deleted"]
        assert endpoint.enabled is False

    await page.get_by_role("link", name="Go to the endpoint").click()
    await page.get_by_role("link", name="Delete…").click()
    await page.get_by_role("link", name="Keep it").click()
    await expect(page.locator("#endpoint-url")).to_be_visible()
    await page.get_by_role("link", name="Delete…").click()
    await page.get_by_role("button", name="Delete the endpoint").click()
    await expect(page.get_by_role("status")).to_contain_text("are removed")
    await expect(page.get_by_text("No webhook endpoints yet.")).to_be_visible()


async def test_a_private_address_or_a_bad_url_is_refused_in_plain_words(
    page: Page, live_outbox: Live
) -> None:
    """Where private addresses are not allowed (the default), a loopback URL is refused beside
    the form with the reason, as is a URL that is not http(s) or a form without events."""
    office = await make_office(live_outbox, name="Guarded Retail AS")
    await sign_in(page, live_outbox, office.admin)
    await _add_endpoint(page, live_outbox, "http://127.0.0.1:9/hook", "device.created")
    error = page.locator("#endpoint-error")
    await expect(error).to_contain_text("leads to an address posfleet does not call")
    await expect(error).to_contain_text("URL: 127.0.0.1 resolves to 127.0.0.1")
    await expect(error).to_contain_text("not a public address")
    await expect(page.get_by_label("URL", exact=True)).to_have_value("http://127.0.0.1:9/hook")
    await expect(page.get_by_label("device.created", exact=True)).to_be_checked()

    await _add_endpoint(page, live_outbox, "not a url", "device.created")
    await expect(error).to_contain_text("must be an http or https URL")
    await _add_endpoint(page, live_outbox, "https://example.com/hook")
    await expect(error).to_contain_text("Events: Choose at least one event.")
    await expect(page.locator("body")).not_to_contain_text("validation_failed")
    async with live_outbox.runtime.sessionmaker() as session:
        assert await WebhookService(session, live_outbox.runtime).of_tenant(office.tenant.id) == []


async def test_a_user_of_one_tenant_can_neither_see_nor_change_another_tenants_endpoints(
    page: Page, live: Live, office: Office
) -> None:
    """Another tenant's endpoint is never listed and is 404 by URL, for reading and for every
    action; nothing of it changes."""
    other = await make_office(live, name="Other Hooks AS")
    async with live.runtime.sessionmaker() as session:
        theirs, secret = await WebhookService(session, live.runtime).create(
            other.tenant.id, "https://example.com/theirs", ["device.created"]
        )
        await session.commit()
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/webhooks"))
    await expect(page.locator("main")).not_to_contain_text("example.com/theirs")
    for suffix in ("", "/delete", f"?before={theirs.uid}"):
        response = await page.goto(live.url(f"/backoffice/webhooks/{theirs.uid}{suffix}"))
        assert response is not None
        assert response.status == 404, suffix
        await expect(page.locator("main")).to_contain_text("No such webhook endpoint")
    await page.goto(live.url("/backoffice/webhooks"))
    csrf = await page.locator("input[name=csrf]").first.input_value()
    form = {"csrf": csrf, "url": "https://attacker.example/", "events": "device.created"}
    for action in ("", "/test", "/rotate-secret", "/delete", "/messages/msg_x/redeliver"):
        response = await page.request.post(
            live.url(f"/backoffice/webhooks/{theirs.uid}{action}"), form=form
        )
        assert response.status == 404, action
    async with live.runtime.sessionmaker() as session:
        service = WebhookService(session, live.runtime)
        still = await service.get(other.tenant.id, theirs.uid)
        assert still.url == "https://example.com/theirs"
        assert service.secret_of(still) == secret
        entries, _ = await service.outbox.log_of_endpoint(still.id, 10)
        assert list(entries) == []


async def test_a_dead_message_is_listed_and_retried_by_hand(
    page: Page, live: Live, office: Office, webhook_receiver: WebhookReceiver
) -> None:
    """A message refused on every attempt of the schedule is listed as dead with its last
    status code; Retry sends it again under the same webhook-id and it is delivered."""
    path = f"bo-dead-{office.tenant.uid}"
    async with live.runtime.sessionmaker() as session:
        service = WebhookService(session, live.runtime)
        endpoint, secret = await service.create(
            office.tenant.id, webhook_receiver.url(path), ["device.created"]
        )
        message = await service.send_test(endpoint)
        await session.commit()
    # The receiver does not know the secret yet: it answers 401 to every attempt.  A worker of
    # this test, its clock moved past each wait, spends the whole schedule.
    worker = OutboxWorker(live.runtime)
    now = utcnow()
    try:
        for _ in range(30):
            now += timedelta(hours=11)  # past the longest wait; 8 tries stay under 5 days
            await worker.run_once(now)
            async with live.runtime.sessionmaker() as session:
                found = await OutboxService(session, live.runtime).get(
                    message.uid, office.tenant.id
                )
            if found.status is OutboxStatus.DEAD:
                break
            await asyncio.sleep(0.05)  # the server's own worker may hold the lease a moment
    finally:
        await worker.close()
    assert found.status is OutboxStatus.DEAD

    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/webhooks"))
    row = page.locator("#dead tbody tr").filter(has_text=message.uid)
    await expect(row).to_contain_text("HTTP 401")
    await expect(row).to_contain_text("webhook.test")
    webhook_receiver.secrets[path] = secret
    await page.get_by_role("button", name=f"Retry {message.uid}").click()
    await expect(page.get_by_role("status")).to_contain_text("same webhook-id")
    (delivered,) = await webhook_receiver.wait_for(path)
    assert delivered.message_id == message.uid
    await page.goto(live.url(f"/backoffice/webhooks/{endpoint.uid}"))
    await _reload_until(page, "#log", "HTTP 204")
    await page.goto(live.url("/backoffice/webhooks"))
    await expect(page.locator("main")).not_to_contain_text(message.uid)
