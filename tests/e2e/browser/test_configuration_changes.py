"""Changing and deleting configuration rows from the back office: device setting definitions,
reasons, currency denominations and each store's payment methods, checked as the admin API
checks them."""

from __future__ import annotations

from playwright.async_api import Page, expect

from posfleet.models.enums import DenominationMaterial, ReasonKind, SettingType
from posfleet.tenants.payments import PaymentCatalogService
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.setting_definitions import (
    SettingDefinitionFields,
    SettingDefinitionService,
)
from tests.e2e.browser.conftest import Live, Office, make_office, sign_in


async def _seed(live: Live, office: Office) -> None:
    async with live.runtime.sessionmaker() as session:
        settings = SettingDefinitionService(session)
        for key in ("receipt/footer", "ui.theme"):
            await settings.define_setting(
                office.tenant.id, SettingDefinitionFields(key=key, type=SettingType.STRING)
            )
        reasons = ReasonService(session)
        for code in ("STAFF 10%", "BROKEN"):
            await reasons.create_reason(
                office.tenant.id, ReasonFields(kind=ReasonKind.DISCOUNT, code=code)
            )
        for value in (2000, 5000):
            await reasons.add_denomination(
                office.tenant.id,
                DenominationFields(denomination=value, material=DenominationMaterial.NOTE),
            )
        await session.commit()


async def test_settings_reasons_and_denominations_are_edited_and_deleted_after_asking(
    page: Page, live: Live, office: Office
) -> None:
    """An edit the API would refuse is refused beside its form and changes nothing; a valid
    one is saved; delete asks first and removes exactly the row asked about, whatever
    characters its key or code holds."""
    await _seed(live, office)
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/configuration"))

    await page.get_by_role("link", name="Edit setting ui.theme").click()
    await page.get_by_label("Setting type").select_option("ENUM")
    await page.get_by_role("button", name="Save the setting").click()
    await expect(page.locator("#setting-error")).to_contain_text("allowedValues")
    await expect(page.get_by_label("Setting type")).to_have_value("ENUM")
    await page.get_by_label("Allowed values (comma-separated, for ENUM)").fill("light, dark")
    await page.get_by_label("Default value").fill("dark")
    await page.get_by_label("Every device must have a value").check()
    await page.get_by_role("button", name="Save the setting").click()
    await expect(page.get_by_role("status")).to_have_text("Setting ui.theme saved.")
    row = page.locator("#settings tr").filter(has_text="ui.theme")
    await expect(row).to_contain_text("ENUM")
    await expect(row).to_contain_text("light, dark")

    await page.get_by_role("link", name="Delete setting receipt/footer…").click()
    await page.get_by_role("link", name="Keep it").click()
    await page.get_by_role("link", name="Delete setting receipt/footer…").click()
    await page.get_by_role("button", name="Delete the setting").click()
    await expect(page.get_by_role("status")).to_have_text("Setting receipt/footer deleted.")
    await expect(page.locator("#settings")).not_to_contain_text("receipt/footer")

    await page.get_by_role("link", name="Edit discount reason STAFF 10%").click()
    await page.get_by_label("Reason description").fill("x" * 301)
    await page.get_by_role("button", name="Save the reason").click()
    await expect(page.locator("#reason-error")).to_contain_text("at most 300 characters")
    await page.get_by_label("Reason description").fill("Staff discount")
    await page.get_by_label("Position on the till (0 first)").fill("3")
    await page.get_by_role("button", name="Save the reason").click()
    await expect(page.locator("#reasons")).to_contain_text("DISCOUNT · STAFF 10% — Staff discount")
    await page.get_by_role("link", name="Delete discount reason BROKEN…").click()
    await page.get_by_role("button", name="Delete the reason").click()
    await expect(page.locator("#reasons")).not_to_contain_text("BROKEN")

    await page.get_by_role("link", name="Delete note 5000 NOK…").click()
    await page.get_by_role("button", name="Delete the denomination").click()
    await expect(page.get_by_role("status")).to_have_text("The NOK note 5000 is deleted.")
    await expect(page.locator("#denominations")).not_to_contain_text("5000")
    await expect(page.locator("#denominations")).to_contain_text("NOTE 2000")

    async with live.runtime.sessionmaker() as session:
        theme = await SettingDefinitionService(session).get_setting_definition(
            office.tenant.id, "ui.theme"
        )
        assert (theme.type, theme.allowed_values, theme.required) == (
            SettingType.ENUM,
            ["light", "dark"],
            True,
        )
        reason = await ReasonService(session).get_reason(
            office.tenant.id, ReasonKind.DISCOUNT, "STAFF 10%"
        )
        assert (reason.description, reason.position) == ("Staff discount", 3)


async def test_payment_methods_are_added_edited_and_deleted_keeping_one_zero_amount_method(
    page: Page, live: Live, office: Office
) -> None:
    """A second zero-amount method is refused beside the form, as the API refuses it; an edit
    is saved; deleting the zero-amount method asks first and says what it means."""
    await sign_in(page, live, office.admin)
    await page.goto(live.url("/backoffice/stores"))
    await page.get_by_role("link", name="Add a payment method to Main Street").click()
    await page.get_by_label("Payment method name").fill("Vipps")
    await page.get_by_label("Payment type").select_option("VIPPS")
    await page.get_by_role("button", name="Add the payment method").click()
    methods = page.locator(f"#methods-{office.store.uid}")
    await expect(methods).to_contain_text("Vipps (VIPPS, listed)")

    await page.get_by_role("link", name="Edit payment method Vipps of Main Street").click()
    await page.get_by_label("The store's zero-amount method").check()
    await page.get_by_role("button", name="Save the payment method").click()
    await expect(page.locator("#method-error")).to_contain_text(
        "already has a zero-amount payment method"
    )
    await page.get_by_label("The store's zero-amount method").uncheck()
    await page.get_by_label("Payment method name").fill("Vipps MobilePay")
    await page.get_by_label("Shown on the till").select_option("FEATURED")
    await page.get_by_label("Give cash back").check()
    await page.get_by_role("button", name="Save the payment method").click()
    await expect(page.get_by_role("status")).to_have_text("Payment method Vipps MobilePay saved.")
    await expect(methods).to_contain_text("Vipps MobilePay (VIPPS, featured)")

    await page.get_by_role("link", name="Delete payment method Zero amount of Main Street…").click()
    await expect(page.locator("main")).to_contain_text("zero-amount method: devices in Main Street")
    await page.get_by_role("button", name="Delete the payment method").click()
    await expect(methods).not_to_contain_text("Zero amount")

    async with live.runtime.sessionmaker() as session:
        catalog = await PaymentCatalogService(session).list_payment_methods(
            office.tenant.id, office.store.id
        )
    assert [(m.name, m.is_zero_amount) for m in catalog] == [
        ("Cash", False),
        ("Vipps MobilePay", False),
    ]
    vipps = catalog[1]
    assert (vipps.visibility.value, vipps.allow_cashback) == ("FEATURED", True)


async def test_another_tenants_configuration_rows_are_404_by_url(
    page: Page, live: Live, office: Office
) -> None:
    """Rows of another tenant can be neither opened nor changed nor deleted by URL."""
    other = await make_office(live, name="Other Config AS")
    await _seed(live, other)
    async with live.runtime.sessionmaker() as session:
        (theirs, _) = await PaymentCatalogService(session).list_payment_methods(
            other.tenant.id, other.store.id
        )
    await sign_in(page, live, office.admin)
    for path in (
        "/configuration/settings/edit?key=ui.theme",
        "/configuration/reasons/delete?kind=DISCOUNT&code=BROKEN",
        f"/payment-methods/{theirs.uid}/edit",
        f"/stores/{other.store.uid}/payment-methods/new",
    ):
        response = await page.goto(live.url(f"/backoffice{path}"))
        assert response is not None
        assert response.status == 404, path
    await page.goto(live.url("/backoffice/stores"))
    csrf = await page.locator("input[name=csrf]").first.input_value()
    for path, form in (
        ("/configuration/settings/delete", {"key": "ui.theme"}),
        ("/configuration/reasons/delete", {"kind": "DISCOUNT", "code": "BROKEN"}),
        (f"/payment-methods/{theirs.uid}/delete", {}),
        (f"/payment-methods/{theirs.uid}/edit", {"name": "Taken", "code": "CASH"}),
    ):
        response = await page.request.post(
            live.url(f"/backoffice{path}"), form={"csrf": csrf, **form}
        )
        assert response.status == 404, path
    async with live.runtime.sessionmaker() as session:
        assert await SettingDefinitionService(session).find_setting_definition(
            other.tenant.id, "ui.theme"
        )
        assert await ReasonService(session).find_reason(
            other.tenant.id, ReasonKind.DISCOUNT, "BROKEN"
        )
        assert (
            await PaymentCatalogService(session).get_payment_method(other.tenant.id, theirs.uid)
        ).name == "Cash"
