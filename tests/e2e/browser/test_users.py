"""Users managed from the back office: create, reset a password, deactivate, store access."""

from __future__ import annotations

import uuid

from playwright.async_api import Browser, Page, expect

from tests.e2e.browser.conftest import Live, Office, make_office, sign_in


async def test_an_admin_creates_a_user_resets_the_password_and_deactivates_the_user(
    page: Page, browser: Browser, live: Live, office: Office
) -> None:
    """A created FULL user signs in; a password reset ends that user's session and the new
    password works; deactivation ends it for good; store access is saved."""
    code = f"mgr-{uuid.uuid4().hex[:8]}"
    await sign_in(page, live, office.admin)
    await page.get_by_role("link", name="Users").click()
    await page.get_by_role("link", name="Create a user").click()
    await page.get_by_label("User code").fill(office.cashier.user_code)
    await page.get_by_label("Password").fill("first password")
    await page.get_by_label("Kind of account").select_option("FULL")
    await page.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("alert")).to_contain_text("is already taken in this tenant")
    await page.get_by_label("User code").fill(code)
    await page.get_by_label("Password").fill("first password")
    await page.get_by_label("Kind of account").select_option("FULL")
    await page.get_by_label("First name").fill("Ola")
    await page.get_by_label("DEVICE").check()
    await page.get_by_label("Main Street").check()
    await page.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("heading", name=code)).to_be_visible()
    user_page = page.url

    other = await browser.new_context()
    manager = await other.new_page()
    await manager.goto(live.url("/backoffice/sign-in"))
    await manager.get_by_label("User code").fill(code)
    await manager.get_by_label("Password").fill("first password")
    await manager.get_by_role("button", name="Sign in").click()
    await expect(manager.get_by_role("heading", name="Devices")).to_be_visible()

    await page.get_by_label("New password").fill("second password")
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.get_by_role("status")).to_contain_text("every token of the user is revoked")
    await manager.reload()
    await expect(manager.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(manager.get_by_role("status")).to_have_text(
        "Your session has ended. Sign in again."
    )
    await manager.get_by_label("User code").fill(code)
    await manager.get_by_label("Password").fill("second password")
    await manager.get_by_role("button", name="Sign in").click()
    await expect(manager.get_by_role("heading", name="Devices")).to_be_visible()

    await page.get_by_label("Main Street").uncheck()
    await page.get_by_role("button", name="Save store access").click()
    await expect(page.get_by_role("status")).to_have_text("Store access saved.")
    await expect(page.get_by_label("Main Street")).not_to_be_checked()

    await page.get_by_role("button", name="Deactivate").click()
    await expect(page.locator("#user-status")).to_have_text("INACTIVE")
    await manager.reload()
    await expect(manager.get_by_role("heading", name="Sign in")).to_be_visible()
    await manager.get_by_label("User code").fill(code)
    await manager.get_by_label("Password").fill("second password")
    await manager.get_by_role("button", name="Sign in").click()
    await expect(manager.get_by_role("alert")).to_have_text("The user code or password is wrong")
    await other.close()

    await page.goto(live.url("/backoffice/users"))
    await expect(page.locator("#users")).to_contain_text(code)
    assert user_page.startswith(live.url("/backoffice/users/"))


async def test_another_tenants_users_are_not_found_by_url(
    page: Page, live: Live, office: Office
) -> None:
    """Reading or changing a user of another tenant by its UID is 404 and changes nothing."""
    other = await make_office(live, name="Other Retail AS")
    await sign_in(page, live, office.admin)
    response = await page.goto(live.url(f"/backoffice/users/{other.admin.uid}"))
    assert response is not None
    assert response.status == 404
    await page.goto(live.url("/backoffice/users"))
    await expect(page.locator("#users")).not_to_contain_text(other.admin.user_code)
    csrf = await page.locator("input[name=csrf]").first.input_value()
    for action, form in (
        ("deactivate", {}),
        ("password", {"password": "taken over"}),
        ("stores", {"stores": other.store.uid}),
    ):
        answer = await page.request.post(
            live.url(f"/backoffice/users/{other.admin.uid}/{action}"), form={"csrf": csrf, **form}
        )
        assert answer.status == 404, action
    await page.context.clear_cookies()
    await sign_in(page, live, other.admin)
    await expect(page.get_by_role("heading", name="Devices")).to_be_visible()
