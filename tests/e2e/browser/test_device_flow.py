"""The device flow's verification page in Chromium, driven from both ends: a device registers
and polls over HTTP, a person approves or denies on the page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import update

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.kit.clock import utcnow
from posfleet.models import DeviceGrant
from tests.conftest import unique
from tests.e2e.browser.conftest import PASSWORD, Live, Office, sign_in


async def _register(live: Live, name: str = "Counter tablet") -> tuple[str, dict[str, Any]]:
    client_id = unique("legacy-pos")
    async with live.runtime.sessionmaker() as s:
        await AppRegistryService(s).create_device_flow_client(
            client_id, AppFields(name="Legacy POS")
        )
        await s.commit()
    async with httpx.AsyncClient(base_url=live.base) as device:
        response = await device.post(
            "/v2/device",
            json={"clientId": client_id, "name": name, "systemInformation": "Linux pos 6.1"},
        )
    assert response.status_code == 200, response.text
    return client_id, response.json()


async def _poll(live: Live, client_id: str, registered: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.base) as device:
        return await device.post(
            "/v2/device/token",
            json={"clientId": client_id, "deviceIdentifier": registered["deviceIdentifier"]},
        )


async def test_a_device_approved_on_the_page_gets_a_token_that_reads_its_info(
    page: Page, live: Live, office: Office
) -> None:
    """Signed out, the person follows the device's link, signs in, lands on the code's review,
    picks the till and approves; the device's next poll gets a token for GET /v2/device."""
    client_id, registered = await _register(live)
    code = registered["deviceCode"]
    await page.goto(live.url(f"/device?code={code}"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("User code").fill(office.admin.user_code)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Password").press("Enter")

    await expect(page.get_by_role("heading", name="A device asks to join")).to_be_visible()
    await expect(page.get_by_label("Device code")).to_have_text(code)
    await expect(page.get_by_text("Linux pos 6.1")).to_be_visible()
    await expect(page.get_by_text("Legacy POS")).to_be_visible()
    await expect(page.locator("#time-left")).to_contain_text("min")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768  # nothing runs off a tablet's screen
    await page.get_by_label("Store").select_option(office.store.uid)
    await page.get_by_label("Till").select_option(office.till.uid)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("Counter tablet is approved")

    token = await _poll(live, client_id, registered)
    assert token.status_code == 200, token.text
    async with httpx.AsyncClient(base_url=live.base) as device:
        info = await device.get(
            "/v2/device", headers={"Authorization": f"Bearer {token.json()['token']}"}
        )
    assert info.status_code == 200, info.text
    assert info.json()["tillInfo"]["tillUid"] == office.till.uid
    assert info.json()["name"] == "Counter tablet"


async def test_a_device_denied_with_the_keyboard_alone_is_refused_access(
    page: Page, live: Live, office: Office
) -> None:
    """The code typed in lower case without its dash, then Deny reached with Tab: the device's
    poll is access_denied."""
    client_id, registered = await _register(live)
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/device-flow"))
    await expect(page.get_by_label("Code shown on the device")).to_be_focused()
    await page.keyboard.type(registered["deviceCode"].replace("-", "").lower())
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="A device asks to join")).to_be_visible()
    await page.get_by_role("button", name="Approve").focus()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Deny")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("denied")

    denied = await _poll(live, client_id, registered)
    assert denied.status_code == 400
    assert denied.json()["error"] == "access_denied"


async def test_a_decision_without_the_pages_csrf_token_is_refused_and_changes_nothing(
    page: Page, live: Live, office: Office
) -> None:
    """A forged CSRF token on the decision form is refused; the device still waits."""
    client_id, registered = await _register(live)
    await sign_in(page, live, office.admin)
    await page.goto(live.url(f"/device?code={registered['deviceCode']}"))
    await page.eval_on_selector_all(
        "input[name=csrf]", "inputs => inputs.forEach(i => { i.value = 'forged' })"
    )
    await page.get_by_label("Store").select_option(office.store.uid)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "not sent from a page of this back office"
    )
    waiting = await _poll(live, client_id, registered)
    assert waiting.json()["error"] == "authorization_pending"


async def test_an_expired_a_used_and_an_unknown_code_each_get_a_clear_message(
    page: Page, live: Live, office: Office
) -> None:
    """Each dead code is named for what it is, beside the code field."""
    _client_id, registered = await _register(live)
    async with live.runtime.sessionmaker() as s:
        await s.execute(
            update(DeviceGrant)
            .where(
                DeviceGrant.identifier_hash
                == live.runtime.hasher.hash(registered["deviceIdentifier"])
            )
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await s.commit()
    await sign_in(page, live, office.admin)
    field = page.get_by_label("Code shown on the device")

    await page.goto(live.url("/backoffice/device-flow"))
    await field.fill(registered["deviceCode"])
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#code-error")).to_have_text(
        "This device code has expired; the device must ask for a new one"
    )

    await field.fill("ZZZZ-ZZZZ")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.locator("#code-error")).to_contain_text("No device is waiting for this code")

    _, used = await _register(live, name="Used tablet")
    await page.goto(live.url(f"/device?code={used['deviceCode']}"))
    await page.get_by_label("Store").select_option(office.store.uid)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("approved")
    await page.goto(live.url(f"/device?code={used['deviceCode']}"))
    await expect(page.locator("#code-error")).to_contain_text("already been used")


async def test_a_client_the_tenant_does_not_allow_is_refused_on_the_page_until_it_is_allowed(
    page: Page, live: Live, office: Office
) -> None:
    """With only listed clients allowed and this one unchecked, its code is refused with the
    reason in place; once checked under Configuration the same code is approved."""
    client_id, registered = await _register(live, name="Unlisted tablet")
    code = registered["deviceCode"]
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/configuration"))
    clients = page.locator("#clients")
    await expect(clients.get_by_text(f"Legacy POS ({client_id}, CLIENT)")).to_be_visible()
    await page.get_by_label("Only the clients checked below").check()
    await page.get_by_role("button", name="Save device-flow clients").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Only the checked device-flow clients may be approved now."
    )
    await expect(page.get_by_label("Only the clients checked below")).to_be_checked()

    await page.goto(live.url(f"/device?code={code}"))
    await expect(page.locator("#code-error")).to_contain_text(
        f"This tenant does not allow devices of the device-flow client Legacy POS ({client_id})"
    )

    await page.goto(live.url("/backoffice/configuration"))
    await page.get_by_label(f"Legacy POS ({client_id}, CLIENT)").check()
    await page.get_by_role("button", name="Save device-flow clients").click()
    await expect(page.get_by_role("status")).to_contain_text("Only the checked")
    await page.goto(live.url(f"/device?code={code}"))
    await expect(page.get_by_role("heading", name="A device asks to join")).to_be_visible()
    await page.get_by_label("Store").select_option(label=office.store.name)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text("is approved and active")
    assert (await _poll(live, client_id, registered)).status_code == 200
