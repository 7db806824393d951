"""Stores, tills and printers created from the back office, ready for a device."""

from __future__ import annotations

import uuid

from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import Live, Office, sign_in


async def test_a_store_with_a_till_and_a_printer_is_created_and_offered_to_devices(
    page: Page, live: Live, office: Office
) -> None:
    """A new store comes with its zero-amount method; a till and a printer are added; a taken
    till number and a nameless store are refused in place; the device form offers the store."""
    name = f"Harbour {uuid.uuid4().hex[:6]}"
    await sign_in(page, live, office.admin)
    await page.get_by_role("link", name="Stores").click()
    await page.get_by_role("button", name="Create store").click()
    await expect(page.locator("#store-error")).to_contain_text("Name: String should have at least")
    await page.get_by_label("Store name").fill(name)
    await page.get_by_label("City").fill("Bergen")
    await page.get_by_role("button", name="Create store").click()
    await expect(page.get_by_role("status")).to_have_text(f"Store {name} created.")
    store = page.get_by_role("region", name=name)
    await expect(store).to_contain_text("zero-amount method")

    await store.get_by_label("Number of the new till").fill("1")
    await store.get_by_role("button", name=f"Add a till to {name}").click()
    await expect(page.get_by_role("status")).to_have_text(f"Till added to {name}.")
    await expect(store).to_contain_text("Till 1 (till 1")
    await store.get_by_label("Number of the new till").fill("1")
    await store.get_by_role("button", name=f"Add a till to {name}").click()
    await expect(store.get_by_role("alert")).to_contain_text("Till number 1 is already used")

    await page.get_by_label("Printer name").fill("Harbour labels")
    await page.get_by_label("Type").select_option("LABEL")
    await page.get_by_label("Store", exact=True).select_option(label=name)
    await page.get_by_role("button", name="Add printer").click()
    await expect(page.get_by_role("status")).to_have_text("Printer Harbour labels added.")
    await expect(page.get_by_role("region", name=name)).to_contain_text("Harbour labels (LABEL)")

    await page.goto(live.url("/backoffice/devices/new"))
    await page.get_by_label("Store").select_option(label=name)
