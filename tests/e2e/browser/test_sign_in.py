"""Signing in and out of the back office, and the forms' CSRF protection."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.e2e.browser.conftest import PASSWORD, Live, Office, sign_in


async def test_a_full_user_signs_in_sees_the_devices_and_signs_out(
    page: Page, live: Live, office: Office
) -> None:
    """A FULL user signs in with user code and password, lands on the devices, and signs out;
    no other site may frame the pages."""
    response = await page.goto(live.url("/"))
    assert response is not None
    assert response.headers["x-frame-options"] == "DENY"
    await expect(page).to_have_url(live.url("/backoffice/sign-in?next=/backoffice/"))
    await sign_in(page, live, office.admin)
    await expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    await expect(page.get_by_text(office.admin.user_code)).to_be_visible()
    cookie = next(c for c in await page.context.cookies() if c["name"] == "posfleet_backoffice")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await page.goto(live.url("/backoffice/devices"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_a_regular_user_is_refused_with_a_plain_message(
    page: Page, live: Live, office: Office
) -> None:
    """A REGULAR user with the right password is told the account is for store devices only."""
    await sign_in(page, live, office.cashier)
    await expect(page.get_by_role("alert")).to_have_text(
        "This account works on store devices only and cannot sign in to the back office"
    )
    await page.goto(live.url("/backoffice/devices"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_a_wrong_password_is_shown_beside_the_form(
    page: Page, live: Live, office: Office
) -> None:
    """A wrong password is answered on the sign-in page in plain words, the user code kept."""
    await page.goto(live.url("/backoffice/sign-in"))
    await page.get_by_label("User code").fill(office.admin.user_code)
    await page.get_by_label("Password").fill("not " + PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The user code or password is wrong")
    await expect(page.get_by_label("User code")).to_have_value(office.admin.user_code)


async def test_a_form_posted_without_its_csrf_token_is_refused(
    page: Page, live: Live, office: Office
) -> None:
    """A state-changing POST carrying the session cookie but not its CSRF token changes nothing."""
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/devices/new"))
    await page.eval_on_selector_all(
        "input[name=csrf]", "inputs => inputs.forEach(i => { i.value = 'forged' })"
    )
    await page.get_by_label("Name").fill("Forged till")
    await page.get_by_role("button", name="Create device").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        "not sent from a page of this back office"
    )
    await page.goto(live.url("/backoffice/devices"))
    await expect(page.locator("#device-count")).to_have_text("0 devices")
    # Another site's form cannot even send the cookie with a POST (SameSite=Lax), and without
    # the cookie the token cannot match either.
    async with httpx.AsyncClient(base_url=live.base) as client:
        response = await client.post("/backoffice/sign-out", data={"csrf": "x"})
    assert response.status_code == 403
