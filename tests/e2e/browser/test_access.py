"""API keys and integration tokens issued from the back office, used over the API, revoked."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from posfleet.models.enums import AccountType
from tests import factories
from tests.e2e.browser.conftest import Live, Office, make_office, sign_in


async def test_an_api_key_is_shown_once_opens_the_storefront_and_dies_when_revoked(
    page: Page, live: Live, office: Office
) -> None:
    """The key on the page opens the tenant's storefront API until it is revoked there; a
    key without a name is refused in place."""
    await sign_in(page, live, office.admin)
    await page.get_by_role("link", name="API access").click()
    await page.get_by_role("button", name="Issue an API key").click()
    await expect(page.locator("#key-error")).to_have_text(
        "A key needs a name of 1 to 200 characters"
    )
    await page.get_by_label("Name of the new key").fill("Front POS")
    await page.get_by_role("button", name="Issue an API key").click()
    secret = await page.get_by_label("The API key").input_value()
    assert secret.startswith("pfk_")
    locations = f"/api/v1/{office.tenant.uid}/storefront/pos/locations"
    async with httpx.AsyncClient(base_url=live.base) as client:
        assert (await client.get(locations, headers={"X-Api-Key": secret})).status_code == 200
        await page.get_by_role("link", name="Back to API access").click()
        await page.get_by_role("button", name="Revoke Front POS").click()
        await expect(page.get_by_role("status")).to_have_text("The API key Front POS is revoked.")
        assert (await client.get(locations, headers={"X-Api-Key": secret})).status_code == 401
    await page.reload()
    await expect(page.locator("#api-keys")).not_to_contain_text("Secret")
    await expect(page.get_by_label("The API key")).to_have_count(0)


async def test_an_integration_token_is_shown_once_and_revoked(
    page: Page, live: Live, office: Office
) -> None:
    """The token lists devices over the admin API until it is revoked on the page; a user who
    is not an INTEGRATION user is refused beside the form."""
    async with live.runtime.sessionmaker() as session:
        erp = await factories.user(
            session, office.tenant, account_type=AccountType.INTEGRATION, permissions=["DEVICE"]
        )
        await session.commit()
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/access"))
    await page.get_by_label("User code of the INTEGRATION user").fill(office.admin.user_code)
    await page.get_by_label("Name of the new token").fill("ERP")
    await page.get_by_role("button", name="Issue an integration token").click()
    await expect(page.locator("#token-error")).to_contain_text("is not an INTEGRATION user")
    await expect(page.get_by_label("Name of the new token")).to_have_value("ERP")
    await page.get_by_label("User code of the INTEGRATION user").fill(erp.user_code)
    await page.get_by_label("Valid for days").fill("30")
    await page.get_by_role("button", name="Issue an integration token").click()
    token = await page.get_by_label("The integration token").input_value()
    devices = f"/v2/tenants/{office.tenant.uid}/devices"
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=live.base) as client:
        assert (await client.get(devices, headers=bearer)).status_code == 200
        await page.get_by_role("link", name="Back to API access").click()
        await page.get_by_role("button", name="Revoke ERP").click()
        await expect(page.get_by_role("status")).to_have_text("The integration token is revoked.")
        assert (await client.get(devices, headers=bearer)).status_code == 401


async def test_keys_of_another_tenant_cannot_be_revoked_and_only_admins_get_here(
    page: Page, live: Live, office: Office
) -> None:
    """Revoking another tenant's key by its UID is 404 and leaves it working; a FULL user
    without TENANT.ADMIN is refused the page."""
    other = await make_office(live, name="Other Retail AS")
    await sign_in(page, live, other.admin)
    await page.goto(live.url("/backoffice/access"))
    await page.get_by_label("Name of the new key").fill("Their POS")
    await page.get_by_role("button", name="Issue an API key").click()
    secret = await page.get_by_label("The API key").input_value()
    await page.goto(live.url("/backoffice/access"))
    revoke = page.locator("#api-keys form").first
    action = await revoke.get_attribute("action")
    assert action is not None

    await page.context.clear_cookies()
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/access"))
    csrf = await page.locator("input[name=csrf]").first.input_value()
    response = await page.request.post(live.url(action), form={"csrf": csrf})
    assert response.status == 404
    locations = f"/api/v1/{other.tenant.uid}/storefront/pos/locations"
    async with httpx.AsyncClient(base_url=live.base) as client:
        assert (await client.get(locations, headers={"X-Api-Key": secret})).status_code == 200

    async with live.runtime.sessionmaker() as session:
        manager = await factories.user(
            session, office.tenant, password="correct horse battery", permissions=["DEVICE"]
        )
        await session.commit()
    await page.context.clear_cookies()
    await sign_in(page, live, manager)
    response = await page.goto(live.url("/backoffice/access"))
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("alert")).to_have_text(
        "Only a tenant administrator (TENANT.ADMIN) may do this"
    )
