"""The back office with the keyboard alone, at a tablet's 768-px width."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import PASSWORD, Live, Office


async def _tab_to(page: Page, description: str, check: str) -> None:
    """Press Tab until the focused element satisfies the JS predicate ``check``."""
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await page.evaluate(f"(e => {check})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {description}")


async def test_sign_in_and_create_a_device_with_the_keyboard_alone(
    page: Page, live: Live, office: Office
) -> None:
    """Every step is reachable by Tab and done with Enter; focus is always visible; the
    skip link comes first; nothing scrolls sideways at 768 px."""
    await page.goto(live.url("/backoffice/sign-in"))
    # The user code field has the focus once the page has loaded: type only then.
    await expect(page.get_by_label("User code")).to_be_focused()
    await page.keyboard.type(office.admin.user_code)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Devices")).to_be_visible()

    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")

    await _tab_to(page, "Create a device", "e.textContent.trim() === 'Create a device'")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Create a device")).to_be_visible()
    await _tab_to(page, "the name field", "e.id === 'name'")
    await page.keyboard.type("Keyboard till")
    await page.keyboard.press("Enter")
    await expect(page.locator("#link-code")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768

    await page.goto(live.url("/backoffice/devices"))
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768
