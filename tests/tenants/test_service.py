from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.models.enums import AppCode, PaymentCode, PrinterType, SettingType
from posfleet.tenants.service import TenantService, check_uid
from tests import factories
from tests.conftest import unique


@pytest.mark.parametrize("uid", ["abc", "A-b_9", "x" * 64])
def test_uids_of_letters_digits_dash_and_underscore_are_accepted(uid: str) -> None:
    assert check_uid(uid) is None


@pytest.mark.parametrize("uid", ["", "has space", "slash/", "ø", "x" * 65, "dot.ted"])
def test_uids_outside_the_flow_pattern_are_refused(uid: str) -> None:
    assert check_uid(uid) is not None


async def test_a_tenant_uid_outside_the_pattern_is_refused_before_anything_is_stored(
    session: AsyncSession,
) -> None:
    tenants = TenantService(session)
    with pytest.raises(ValidationFailed) as caught:
        await tenants.create_tenant(name="Bad", uid="bad uid!")
    assert set(caught.value.errors) == {"uid"}
    assert await tenants.find_tenant("bad uid!") is None


async def test_a_tenant_needs_known_currency_language_and_timezone(
    session: AsyncSession,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await TenantService(session).create_tenant(
            name="X", currency_code="kroner", language_code="norsk", timezone="Mars/Olympus"
        )
    assert set(caught.value.errors) == {"currencyCode", "languageCode", "timezone"}


async def test_a_second_tenant_with_the_same_uid_is_a_conflict(session: AsyncSession) -> None:
    tenants = TenantService(session)
    uid = unique("tenant")
    await tenants.create_tenant(name="First", uid=uid)
    with pytest.raises(Conflict):
        await tenants.create_tenant(name="Second", uid=uid)


async def test_unknown_fields_are_refused_not_silently_dropped(session: AsyncSession) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await TenantService(session).create_tenant(name="X", colour="blue")
    assert caught.value.errors == {"colour": "is not a field"}


async def test_till_numbers_are_unique_within_a_store_only(session: AsyncSession) -> None:
    tenants = TenantService(session)
    tenant = await tenants.create_tenant(name="Retail")
    oslo = await tenants.create_store(tenant, name="Oslo")
    bergen = await tenants.create_store(tenant, name="Bergen")
    first = await tenants.create_till(oslo, number=1)
    assert first.name == "Till 1"
    with pytest.raises(Conflict, match="Till number 1"):
        await tenants.create_till(oslo, number=1, name="Again")
    assert (await tenants.create_till(bergen, number=1)).store_id == bergen.id


async def test_a_till_number_below_one_is_refused(session: AsyncSession) -> None:
    tenants = TenantService(session)
    store = await tenants.create_store(await tenants.create_tenant(name="R"), name="S")
    with pytest.raises(ValidationFailed) as caught:
        await tenants.create_till(store, number=0, payment_terminal="CARDREADER")
    assert set(caught.value.errors) == {"number", "paymentTerminal"}


async def test_lookups_never_cross_tenants(session: AsyncSession) -> None:
    tenants = TenantService(session)
    mine = await tenants.create_tenant(name="Mine")
    theirs = await tenants.create_tenant(name="Theirs")
    store = await tenants.create_store(theirs, name="Their store", uid=unique("store"))
    till = await tenants.create_till(store, number=1, uid=unique("till"))
    printer = await tenants.create_printer(theirs, name="P", type=PrinterType.RECEIPT)
    assert await tenants.find_store(mine, store.uid) is None
    assert await tenants.find_till(mine, till.uid) is None
    with pytest.raises(NotFound):
        await tenants.get_store(mine, store.uid)
    with pytest.raises(NotFound):
        await tenants.get_printers(mine, [printer.uid])
    assert await tenants.get_printers(theirs, [printer.uid]) == [printer]


async def test_a_store_has_at_most_one_zero_amount_payment_method(session: AsyncSession) -> None:
    tenants = TenantService(session)
    store = await tenants.create_store(await tenants.create_tenant(name="R"), name="S")
    await tenants.create_payment_method(store, code=PaymentCode.CASH, name="Cash")
    await tenants.create_payment_method(
        store, code=PaymentCode.EXTERNAL, name="Zero", is_zero_amount=True
    )
    with pytest.raises(Conflict):
        await tenants.create_payment_method(
            store, code=PaymentCode.VIPPS, name="Another zero", is_zero_amount=True
        )
    assert [m.name for m in await tenants.list_payment_methods(store)] == ["Cash", "Zero"]


async def test_an_enum_setting_lists_its_values_and_a_pattern_must_compile(
    session: AsyncSession,
) -> None:
    tenants = TenantService(session)
    tenant = await tenants.create_tenant(name="R")
    with pytest.raises(ValidationFailed) as caught:
        await tenants.define_setting(
            tenant, key="theme", name="Theme", type=SettingType.ENUM, validation_regex="("
        )
    assert set(caught.value.errors) == {"allowedValues", "validationRegex"}
    await tenants.define_setting(
        tenant, key="theme", name="Theme", type="ENUM", allowed_values=["light", "dark"]
    )
    with pytest.raises(Conflict):
        await tenants.define_setting(tenant, key="theme", name="Again", type="STRING")


async def test_denominations_default_to_the_tenant_currency_and_are_unique(
    session: AsyncSession,
) -> None:
    tenants = TenantService(session)
    tenant = await tenants.create_tenant(name="R", currency_code="SEK")
    coin = await tenants.add_denomination(tenant, denomination=100, material="COIN")
    assert coin.currency_code == "SEK"
    with pytest.raises(Conflict):
        await tenants.add_denomination(tenant, denomination=100, material="COIN")
    with pytest.raises(ValidationFailed):
        await tenants.add_denomination(tenant, denomination=0, material="PLASTIC")


async def test_apps_and_device_flow_clients_are_registered_once(session: AsyncSession) -> None:
    tenants = TenantService(session)
    app_id, client_id = unique("app"), unique("client")
    app = await tenants.register_app(app_id=app_id, name="", app_code=AppCode.ASSISTANT)
    assert (app.name, app.app_code) == (app_id, AppCode.ASSISTANT)
    with pytest.raises(Conflict):
        await tenants.register_app(app_id=app_id, name="x", app_code="CLIENT")
    with pytest.raises(ValidationFailed):
        await tenants.register_app(app_id=unique("app"), name="x", app_code="TOASTER")
    await tenants.create_device_flow_client(client_id=client_id, name="Legacy")
    assert (await tenants.find_device_flow_client(client_id)) is not None
    with pytest.raises(Conflict):
        await tenants.create_device_flow_client(client_id=client_id, name="Again")


async def test_device_overview_names_store_and_till(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant, name="Oslo")
    till = await factories.till(session, store, number=7)
    placed = await factories.device(session, tenant, store=store, till=till, name="A")
    loose = await factories.device(session, tenant, name="B")
    rows = await TenantService(session).device_overview(tenant)
    assert {(d.uid, s, t) for d, s, t in rows} == {(placed.uid, "Oslo", 7), (loose.uid, None, None)}
    only_store = await TenantService(session).device_overview(tenant, store)
    assert [d.uid for d, _, _ in only_store] == [placed.uid]
