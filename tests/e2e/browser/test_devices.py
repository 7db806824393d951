"""Running devices from the back office, checked over the device API as a device sees it."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, expect

from posfleet.devices.service import DeviceService
from posfleet.models.enums import AppCode
from posfleet.tenants.setting_definitions import (
    SettingDefinitionFields,
    SettingDefinitionService,
)
from tests import factories
from tests.e2e.browser.conftest import PASSWORD, Live, Office, make_office, sign_in


async def _create(page: Page, live: Live, name: str, store: str = "", till: str = "") -> str:
    """Create a device through the form; returns the link code read from the card."""
    await page.goto(live.url("/backoffice/devices"))
    await page.get_by_role("link", name="Create a device").click()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("App").select_option("CLIENT")
    if store:
        await page.get_by_label("Store").select_option(label=store)
    if till:
        await page.get_by_label("Till").select_option(label=till)
    await page.get_by_role("button", name="Create device").click()
    await expect(page.get_by_role("heading", name="Device created")).to_be_visible()
    await expect(page.locator("#link-card svg")).to_be_visible()
    code = (await page.locator("#link-code").inner_text()).strip()
    assert code
    return code


async def _link(live: Live, office: Office, code: str) -> str:
    async with live.runtime.sessionmaker() as session:
        app = await factories.registered_app(session, AppCode.CLIENT)
        await session.commit()
    async with httpx.AsyncClient(base_url=live.base) as client:
        response = await client.post(
            f"/v2/device/{code}/link",
            json={
                "appId": app.app_id,
                "userCode": office.admin.user_code,
                "password": PASSWORD,
                "systemInformation": "Linux till-07 6.1.0 x86_64",
            },
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def _device_info(live: Live, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.base) as client:
        return await client.get("/v2/device", headers={"Authorization": f"Bearer {token}"})


async def test_a_device_created_on_the_page_links_with_the_code_shown_and_is_blocked_from_it(
    page: Page, live: Live, office: Office
) -> None:
    """The link code on the card links the device over the API; blocking it on the page makes
    its very next GET /v2/device a 401, and unblocking lets the same token back in."""
    await sign_in(page, live, office.admin)
    code = await _create(page, live, "Front till", store="Main Street", till="Till 1 (till 1)")
    await page.get_by_role("link", name="Go to the device").click()
    await expect(page.locator("#device-status")).to_have_text("READY_TO_LINK")

    token = await _link(live, office, code)
    assert (await _device_info(live, token)).status_code == 200

    await page.reload()
    await expect(page.locator("#device-status")).to_have_text("ACTIVE")
    await expect(page.locator("#device-online")).to_have_text("online")
    await expect(page.get_by_text("Linux till-07 6.1.0 x86_64")).to_be_visible()
    await page.get_by_role("button", name="Block").click()
    await expect(page.locator("#device-status")).to_have_text("BLOCKED")
    assert (await _device_info(live, token)).status_code == 401

    await page.get_by_role("button", name="Unblock").click()
    await expect(page.locator("#device-status")).to_have_text("ACTIVE")
    assert (await _device_info(live, token)).status_code == 200

    timeline = page.locator("#audit-timeline tbody tr")
    await expect(timeline).to_have_count(4)
    await expect(timeline.nth(0)).to_contain_text("unblocked")
    await expect(timeline.nth(1)).to_contain_text("blocked")
    await expect(timeline.nth(1)).to_contain_text(office.admin.user_code)
    await expect(timeline.nth(1)).to_contain_text("127.0.0.1")
    await expect(timeline.nth(2)).to_contain_text("activated")
    await expect(timeline.nth(3)).to_contain_text("created")


async def test_reset_gives_a_new_code_that_links_and_delete_asks_first(
    page: Page, live: Live, office: Office
) -> None:
    """Reset shows a new link code and kills the old token; delete needs a confirmation and
    the device is gone from the list, its timeline kept."""
    await sign_in(page, live, office.admin)
    code = await _create(page, live, "Back office PC", store="Main Street")
    token = await _link(live, office, code)
    await page.get_by_role("link", name="Go to the device").click()
    device_url = page.url

    await page.get_by_role("button", name="Reset link code").click()
    await expect(page.get_by_role("heading", name="New link code")).to_be_visible()
    new_code = (await page.locator("#link-code").inner_text()).strip()
    assert new_code != code
    assert (await _device_info(live, token)).status_code == 401
    new_token = await _link(live, office, new_code)
    assert (await _device_info(live, new_token)).status_code == 200

    await page.goto(device_url)
    await page.get_by_role("link", name="Delete…").click()
    await expect(page.get_by_role("heading", name="Delete Back office PC?")).to_be_visible()
    await page.get_by_role("link", name="Keep it").click()
    await expect(page).to_have_url(device_url)
    await page.get_by_role("link", name="Delete…").click()
    await page.get_by_role("button", name="Delete the device").click()
    await expect(page.get_by_text("The device Back office PC was deleted.")).to_be_visible()
    await expect(page.locator("#device-count")).to_have_text("0 devices")
    assert (await _device_info(live, new_token)).status_code == 401
    response = await page.goto(device_url)
    assert response is not None
    assert response.status == 404


async def test_an_edit_is_checked_as_put_checks_it_and_errors_show_beside_the_field(
    page: Page, live: Live, office: Office
) -> None:
    """An empty name and a setting of the wrong type are refused beside their fields; a blank
    optional setting is left alone; a valid edit is saved and shown."""
    async with live.runtime.sessionmaker() as session:
        definitions = SettingDefinitionService(session)
        await definitions.define_setting(
            office.tenant.id,
            SettingDefinitionFields(key="receipt.copies", name="Receipt copies", type="INTEGER"),
        )
        await definitions.define_setting(
            office.tenant.id,
            SettingDefinitionFields(key="brightness", name="Brightness", type="DECIMAL"),
        )
        await session.commit()
    await sign_in(page, live, office.admin)
    await _create(page, live, "Kiosk")
    await page.get_by_role("link", name="Go to the device").click()
    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Name").fill("   ")
    await page.get_by_label("Name").evaluate("e => e.removeAttribute('required')")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#name-error")).to_have_text("Name: must not be empty")
    await page.get_by_label("Name").fill("Kiosk by the door")
    await page.get_by_label("Receipt copies").fill("two")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#settings-receipt\\.copies-error")).to_have_text(
        "Receipt copies: must be a whole number"
    )
    await page.get_by_label("Receipt copies").fill("2")
    await page.get_by_label("Store").select_option(label="Main Street")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("The device was saved.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Kiosk by the door")).to_be_visible()
    await expect(page.get_by_text("Receipt copies: 2")).to_be_visible()
    await expect(page.locator("#audit-timeline tbody tr").first).to_contain_text("updated")


async def test_search_filters_and_pages_through_the_devices(
    page: Page, live: Live, office: Office
) -> None:
    """Free-text search, name search, status filter and paging use the API's queries."""
    async with live.runtime.sessionmaker() as session:
        service = DeviceService(session, live.runtime)
        for number in range(30):
            await service.create(
                office.tenant.id,
                name=f"Till {number:02d}" if number < 27 else f"Scale {number}",
                app_code=AppCode.CLIENT,
                actor="seed",
                store_uid=office.store.uid if number % 2 else None,
            )
        await session.commit()
    await sign_in(page, live, office.admin)
    await expect(page.locator("#device-count")).to_have_text("30 devices, page 1 of 2")
    await expect(page.locator("#device-results tbody tr")).to_have_count(25)
    await page.get_by_label("Sort by").select_option("name")
    await page.get_by_label("Order").select_option("ASC")
    await page.get_by_role("button", name="Show devices").click()
    await expect(page.locator("#device-results tbody tr").first).to_contain_text("Scale 27")
    await page.get_by_role("link", name="Next page").click()
    await expect(page.locator("#device-count")).to_have_text("30 devices, page 2 of 2")
    await expect(page.locator("#device-results tbody tr")).to_have_count(5)
    await expect(page.locator("#device-results tbody tr").last).to_contain_text("Till 26")
    await page.get_by_role("link", name="Previous page").click()
    await expect(page.locator("#device-count")).to_have_text("30 devices, page 1 of 2")

    # Typing in Search is enough: htmx swaps in the results and keeps the URL in step.
    await page.get_by_label("Search").press_sequentially("scale")
    await expect(page.locator("#device-count")).to_have_text("3 devices, page 1 of 1")
    await expect(page).to_have_url(re.compile(r"q=scale"))
    await page.get_by_label("Search").fill("")
    await page.get_by_label("Name contains").fill("Till 1")
    await page.get_by_label("Store").select_option(label="Main Street")
    await page.get_by_role("button", name="Show devices").click()
    # Till 10..19, of which the odd ones are in Main Street.
    await expect(page.locator("#device-count")).to_have_text("5 devices, page 1 of 1")
    await page.get_by_label("Status").select_option("ACTIVE")
    await page.get_by_role("button", name="Show devices").click()
    await expect(page.locator("#device-count")).to_have_text("0 devices")


async def test_a_user_of_one_tenant_can_neither_see_nor_change_another_tenants_devices(
    page: Page, live: Live, office: Office
) -> None:
    """Another tenant's device is 404 by URL, for reading and for every action, and never
    listed or found by search."""
    other = await make_office(live, name="Other Retail AS")
    async with live.runtime.sessionmaker() as session:
        theirs, _ = await DeviceService(session, live.runtime).create(
            other.tenant.id, name="Their secret till", app_code=AppCode.CLIENT, actor="seed"
        )
        await session.commit()
    await sign_in(page, live, office.admin)
    await page.get_by_label("Search").fill("secret")
    await page.get_by_role("button", name="Show devices").click()
    await expect(page.locator("#device-count")).to_have_text("0 devices")
    for path in ("", "/edit", "/delete"):
        response = await page.goto(live.url(f"/backoffice/devices/{theirs.uid}{path}"))
        assert response is not None
        assert response.status == 404
    await page.goto(live.url("/backoffice/devices"))
    csrf = await page.locator("input[name=csrf]").first.input_value()
    for action in ("block", "unblock", "reset", "delete", "edit"):
        response = await page.request.post(
            live.url(f"/backoffice/devices/{theirs.uid}/{action}"),
            form={"csrf": csrf, "name": "Taken over", "app": "CLIENT"},
        )
        assert response.status == 404, action
    async with live.runtime.sessionmaker() as session:
        service = DeviceService(session, live.runtime)
        still = await service.get(other.tenant.id, theirs.uid)
        assert still.name == "Their secret till"
        assert await service.audit_trail(other.tenant.id, theirs.uid) != []
        assert all(
            e.actor == "seed" for e in await service.audit_trail(other.tenant.id, theirs.uid)
        )
