"""Reasons, denominations and device settings defined from the back office."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import Live, Office, sign_in


async def test_settings_reasons_and_denominations_are_defined_and_checked_in_place(
    page: Page, live: Live, office: Office
) -> None:
    """An ENUM setting without values and a taken reason code are refused beside their form;
    a defined setting then appears on the device edit form."""
    await sign_in(page, live, office.admin)
    await page.get_by_role("link", name="Configuration").click()
    await page.get_by_label("Setting key").fill("ui.theme")
    await page.get_by_label("Setting name").fill("Screen theme")
    await page.get_by_label("Setting type").select_option("ENUM")
    await page.get_by_role("button", name="Define setting").click()
    await expect(page.locator("#setting-error")).to_contain_text("allowedValues")
    await expect(page.get_by_label("Setting key")).to_have_value("ui.theme")
    await page.get_by_label("Allowed values (comma-separated, for ENUM)").fill("light, dark")
    await page.get_by_role("button", name="Define setting").click()
    await expect(page.get_by_role("status")).to_have_text("Setting ui.theme defined.")
    await expect(page.locator("#settings")).to_contain_text("light, dark")

    for _ in range(2):
        await page.get_by_label("Reason kind").select_option("RETURN")
        await page.get_by_label("Reason code").fill("DAMAGED")
        await page.get_by_role("button", name="Add reason").click()
    await expect(page.locator("#reason-error")).to_contain_text("already exists")
    await expect(page.locator("#reasons")).to_contain_text("RETURN · DAMAGED")

    await page.get_by_label("Value in minor units (e.g. 2000 for 20.00)").fill("2000")
    await page.get_by_label("Coin or note").select_option("NOTE")
    await page.get_by_role("button", name="Add denomination").click()
    await expect(page.locator("#denominations")).to_contain_text("NOTE 2000")

    await page.goto(live.url("/backoffice/devices/new"))
    await page.get_by_label("Name").fill("Themed till")
    await page.get_by_role("button", name="Create device").click()
    await page.get_by_role("link", name="Go to the device").click()
    await page.get_by_role("link", name="Edit").click()
    await page.get_by_label("Screen theme").select_option("dark")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Screen theme: dark")).to_be_visible()
