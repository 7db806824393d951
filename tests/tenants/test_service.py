from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.devices.search import DeviceSearchService
from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.models.enums import (
    AppCode,
    DenominationMaterial,
    PaymentCode,
    PaymentVisibility,
    PrinterType,
    SettingType,
)
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonService
from posfleet.tenants.service import TenantFields, TenantService, check_uid
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields
from tests import factories
from tests.conftest import unique


def _locations(caught: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


@pytest.mark.parametrize("uid", ["abc", "A-b_9", "x" * 64])
def test_uids_of_letters_digits_dash_and_underscore_are_accepted(uid: str) -> None:
    assert check_uid(uid) is None


@pytest.mark.parametrize("uid", ["", "has space", "slash/", "ø", "x" * 65, "dot.ted"])
def test_uids_outside_the_flow_pattern_are_refused(uid: str) -> None:
    assert check_uid(uid) is not None


def test_a_tenant_needs_known_currency_language_and_timezone() -> None:
    with pytest.raises(ValidationError) as caught:
        TenantFields(
            name="X", currency_code="kroner", language_code="norsk", timezone="Mars/Olympus"
        )
    assert _locations(caught) == {"currency_code", "language_code", "timezone"}


def test_unknown_fields_are_refused_not_silently_dropped() -> None:
    with pytest.raises(ValidationError) as caught:
        TenantFields.model_validate({"name": "X", "colour": "blue"})
    assert _locations(caught) == {"colour"}


async def test_a_tenant_needs_a_name(session: AsyncSession) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await TenantService(session).create_tenant(TenantFields(vat_number="1"))
    assert caught.value.errors == {"name": "is required"}


async def test_a_second_tenant_with_the_same_uid_is_a_conflict(session: AsyncSession) -> None:
    tenants = TenantService(session)
    uid = unique("tenant")
    await tenants.create_tenant(TenantFields(name="First"), uid=uid)
    with pytest.raises(Conflict):
        await tenants.create_tenant(TenantFields(name="Second"), uid=uid)


async def test_an_update_changes_only_the_fields_given(session: AsyncSession) -> None:
    tenants = TenantService(session)
    tenant = await tenants.create_tenant(TenantFields(name="R", vat_number="NO1"))
    await tenants.update_tenant(tenant.id, TenantFields(currency_symbol="NOK"))
    assert (tenant.name, tenant.vat_number, tenant.currency_symbol) == ("R", "NO1", "NOK")


async def test_till_numbers_are_unique_within_a_store_only(session: AsyncSession) -> None:
    tenant = await TenantService(session).create_tenant(TenantFields(name="Retail"))
    stores = StoreService(session)
    oslo = await stores.create_store(tenant.id, StoreFields(name="Oslo"))
    bergen = await stores.create_store(tenant.id, StoreFields(name="Bergen"))
    first = await stores.create_till(tenant.id, oslo.uid, TillFields(number=1))
    assert first.name == "Till 1"
    with pytest.raises(Conflict, match="Till number 1"):
        await stores.create_till(tenant.id, oslo.uid, TillFields(number=1, name="Again"))
    till = await stores.create_till(tenant.id, bergen.uid, TillFields(number=1))
    assert till.store_id == bergen.id
    await stores.create_till(tenant.id, bergen.uid, TillFields(number=2))
    with pytest.raises(Conflict, match="Till number 2"):
        await stores.update_till(tenant.id, till.uid, TillFields(number=2))


def test_a_till_number_below_one_and_an_unknown_terminal_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TillFields.model_validate({"number": 0, "paymentTerminal": "CARDREADER"})
    assert _locations(caught) == {"number", "paymentTerminal"}


async def test_lookups_never_cross_tenants(session: AsyncSession) -> None:
    tenants = TenantService(session)
    mine = await tenants.create_tenant(TenantFields(name="Mine"))
    theirs = await tenants.create_tenant(TenantFields(name="Theirs"))
    stores = StoreService(session)
    store = await stores.create_store(theirs.id, StoreFields(name="Their store"), uid=unique("s"))
    till = await stores.create_till(theirs.id, store.uid, TillFields(number=1), uid=unique("t"))
    printer = await stores.create_printer(
        theirs.id, PrinterFields(name="P", type=PrinterType.RECEIPT)
    )
    assert await stores.find_store(mine.id, store.uid) is None
    assert await stores.find_till(mine.id, till.uid) is None
    with pytest.raises(NotFound):
        await stores.get_store(mine.id, store.uid)
    with pytest.raises(NotFound):
        await stores.create_till(mine.id, store.uid, TillFields(number=2))
    with pytest.raises(NotFound):
        await stores.get_printers(mine.id, [printer.uid])
    with pytest.raises(NotFound):
        await stores.delete_store(mine.id, store.uid)
    assert await stores.get_printers(theirs.id, [printer.uid]) == [printer]


async def test_a_store_created_without_options_has_cash_and_a_zero_amount_method(
    session: AsyncSession,
) -> None:
    tenant = await TenantService(session).create_tenant(TenantFields(name="R", country_code="SE"))
    store = await StoreService(session).create_store(tenant.id, StoreFields(name="S"))
    methods = await PaymentCatalogService(session).list_payment_methods(tenant.id, store.id)
    assert [(m.code, m.visibility, m.is_zero_amount) for m in methods] == [
        (PaymentCode.CASH, PaymentVisibility.LISTED, False),
        (PaymentCode.CASH, PaymentVisibility.HIDDEN, True),
    ]
    assert store.country_code == "SE"


async def test_a_store_has_at_most_one_zero_amount_payment_method(session: AsyncSession) -> None:
    tenant = await TenantService(session).create_tenant(TenantFields(name="R"))
    store = await StoreService(session).create_store(
        tenant.id, StoreFields(name="S"), default_payment_methods=False
    )
    payments = PaymentCatalogService(session)
    await payments.create_payment_method(
        tenant.id, store.uid, PaymentMethodFields(code=PaymentCode.CASH, name="Cash")
    )
    zero = await payments.create_payment_method(
        tenant.id,
        store.uid,
        PaymentMethodFields(code=PaymentCode.EXTERNAL, name="Zero", is_zero_amount=True),
    )
    another = PaymentMethodFields(code=PaymentCode.VIPPS, name="Another", is_zero_amount=True)
    with pytest.raises(Conflict):
        await payments.create_payment_method(tenant.id, store.uid, another)
    vipps = await payments.create_payment_method(
        tenant.id, store.uid, PaymentMethodFields(code=PaymentCode.VIPPS, name="Vipps")
    )
    with pytest.raises(Conflict):
        await payments.update_payment_method(
            tenant.id, vipps.uid, PaymentMethodFields(is_zero_amount=True)
        )
    listed = await payments.list_payment_methods(tenant.id, store.id)
    assert [m.name for m in listed] == ["Cash", "Zero", "Vipps"]
    assert zero.is_zero_amount


def test_an_enum_setting_lists_its_values_and_a_pattern_must_compile() -> None:
    with pytest.raises(ValidationError) as caught:
        SettingDefinitionFields(key="theme", type=SettingType.ENUM, validation_regex="(")
    assert "validation_regex" in _locations(caught)
    with pytest.raises(ValidationError, match="allowedValues"):
        SettingDefinitionFields(key="theme", type=SettingType.ENUM)


async def test_a_setting_is_defined_once(session: AsyncSession) -> None:
    tenant = await TenantService(session).create_tenant(TenantFields(name="R"))
    definitions = SettingDefinitionService(session)
    theme = SettingDefinitionFields(
        key="theme", type=SettingType.ENUM, allowed_values=["light", "dark"]
    )
    assert (await definitions.define_setting(tenant.id, theme)).name == "theme"
    with pytest.raises(Conflict):
        await definitions.define_setting(
            tenant.id, SettingDefinitionFields(key="theme", type=SettingType.STRING)
        )


async def test_denominations_default_to_the_tenant_currency_and_are_unique(
    session: AsyncSession,
) -> None:
    tenant = await TenantService(session).create_tenant(TenantFields(name="R", currency_code="SEK"))
    reasons = ReasonService(session)
    coin = DenominationFields(denomination=100, material=DenominationMaterial.COIN)
    assert (await reasons.add_denomination(tenant.id, coin)).currency_code == "SEK"
    with pytest.raises(Conflict):
        await reasons.add_denomination(tenant.id, coin)
    with pytest.raises(ValidationError):
        DenominationFields.model_validate({"denomination": 0, "material": "PLASTIC"})


async def test_apps_and_device_flow_clients_are_registered_once(session: AsyncSession) -> None:
    apps = AppRegistryService(session)
    app_id, client_id = unique("app"), unique("client")
    app = await apps.register_app(app_id, AppFields(app_code=AppCode.ASSISTANT))
    assert (app.name, app.app_code) == (app_id, AppCode.ASSISTANT)
    with pytest.raises(Conflict):
        await apps.register_app(app_id, AppFields(name="x"))
    with pytest.raises(ValidationFailed):
        await apps.register_app("has space", AppFields())
    await apps.create_device_flow_client(client_id, AppFields(name="Legacy"))
    assert (await apps.find_device_flow_client(client_id)) is not None
    with pytest.raises(Conflict):
        await apps.create_device_flow_client(client_id, AppFields(name="Again"))
    await apps.update_app(app_id, AppFields(is_active=False))
    assert (app.is_active, app.app_code) == (False, AppCode.ASSISTANT)


async def test_device_overview_names_store_and_till(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant, name="Oslo")
    till = await factories.till(session, store, number=7)
    placed = await factories.device(session, tenant, store=store, till=till, name="A")
    loose = await factories.device(session, tenant, name="B")
    rows = await DeviceSearchService(session).overview(tenant.id)
    assert {(d.uid, s, t) for d, s, t in rows} == {(placed.uid, "Oslo", 7), (loose.uid, None, None)}
    only_store = await DeviceSearchService(session).overview(tenant.id, store.uid)
    assert [d.uid for d, _, _ in only_store] == [placed.uid]
