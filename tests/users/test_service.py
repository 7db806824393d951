from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, ValidationFailed
from posfleet.kit.pagination import PageRequest, SortDirection
from posfleet.models.enums import AccountType, UserStatus
from posfleet.users.service import UserService, is_tenant_admin
from tests import factories
from tests.conftest import unique


async def test_a_created_user_keeps_only_an_argon2_hash_of_the_password(
    session: AsyncSession,
) -> None:
    tenant = await factories.tenant(session)
    users = UserService(session)
    user = await users.create(
        tenant, user_code="kari", password="s3cret-pin-42", account_type=AccountType.FULL
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "s3cret-pin-42" not in user.password_hash
    assert await users.check_password(user, "s3cret-pin-42")
    assert not await users.check_password(user, "wrong")
    assert not await users.check_password(None, "s3cret-pin-42")


async def test_user_code_is_unique_within_a_tenant_but_not_across_tenants(
    session: AsyncSession,
) -> None:
    first, second = await factories.tenant(session), await factories.tenant(session)
    users = UserService(session)
    code = unique("code")
    await users.create(first, user_code=code, password="2468", account_type=AccountType.REGULAR)
    with pytest.raises(Conflict):
        await users.create(
            first, user_code=code, password="correct-horse-1", account_type=AccountType.FULL
        )
    await users.create(
        second, user_code=code, password="correct-horse-1", account_type=AccountType.FULL
    )
    found = await users.find_by_user_code_any_tenant(code)
    assert {u.tenant_id for u in found} == {first.id, second.id}


async def test_a_user_uid_outside_the_flow_pattern_is_refused(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    with pytest.raises(ValidationFailed) as caught:
        await UserService(session).create(
            tenant,
            uid="no spaces!",
            user_code="a",
            password="correct-horse-1",
            account_type=AccountType.FULL,
        )
    assert "uid" in caught.value.errors


async def test_email_lookup_is_case_insensitive_and_scoped_to_the_tenant(
    session: AsyncSession,
) -> None:
    tenant, other = await factories.tenant(session), await factories.tenant(session)
    users = UserService(session)
    email = f"{unique('kari')}@Example.com"
    user = await users.create(
        tenant,
        user_code="k",
        password="correct-horse-1",
        account_type=AccountType.FULL,
        email=email,
    )
    assert await users.find_by_email(tenant, email.upper()) == user
    assert await users.find_by_email(other, email) is None


@pytest.mark.parametrize(
    ("phone", "country_code"),
    [("912 34 567", "+47"), ("91234567", "47"), ("91234567", None), ("+47 912 34 567", None)],
)
async def test_mobile_lookup_accepts_national_and_international_forms(
    session: AsyncSession, phone: str, country_code: str | None
) -> None:
    tenant = await factories.tenant(session)
    users = UserService(session)
    user = await users.create(
        tenant,
        user_code="m",
        password="2468",
        account_type=AccountType.REGULAR,
        mobile="91234567",
        mobile_country_code="+47",
    )
    assert await users.find_by_mobile(tenant, phone, country_code) == user
    assert await users.find_by_mobile(tenant, "91234567", "+46") is None
    assert await users.find_by_mobile(tenant, "+4691234567") is None


async def test_store_access_is_granted_per_store_or_for_all_stores(
    session: AsyncSession,
) -> None:
    tenant = await factories.tenant(session)
    oslo, bergen = await factories.store(session, tenant), await factories.store(session, tenant)
    users = UserService(session)
    cashier = await users.create(
        tenant, user_code="c", password="2468", account_type=AccountType.REGULAR, stores=[oslo]
    )
    admin = await users.create(
        tenant,
        user_code="a",
        password="correct-horse-1",
        account_type=AccountType.FULL,
        all_stores=True,
        permissions=["TENANT.ADMIN"],
    )
    assert await users.has_store_access(cashier, oslo)
    assert not await users.has_store_access(cashier, bergen)
    assert await users.has_store_access(admin, bergen)
    assert is_tenant_admin(admin)
    assert not is_tenant_admin(cashier)
    assert [r.store.id for r in await users.store_roles(cashier)] == [oslo.id]
    await users.revoke_store_access(cashier, oslo)
    assert not await users.has_store_access(cashier, oslo)


async def test_store_access_to_another_tenants_store_is_refused(session: AsyncSession) -> None:
    tenant, other = await factories.tenant(session), await factories.tenant(session)
    foreign = await factories.store(session, other)
    with pytest.raises(ValidationFailed):
        await UserService(session).create(
            tenant,
            user_code="c",
            password="2468",
            account_type=AccountType.REGULAR,
            stores=[foreign],
        )


async def test_users_of_a_store_are_filtered_by_type_paged_and_sorted(
    session: AsyncSession,
) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)
    elsewhere = await factories.store(session, tenant)
    users = UserService(session)
    for code in ("c3", "c1", "c2"):
        await users.create(
            tenant,
            user_code=code,
            password="2468",
            account_type=AccountType.REGULAR,
            stores=[store],
        )
    await users.create(
        tenant,
        user_code="f1",
        password="correct-horse-1",
        account_type=AccountType.FULL,
        all_stores=True,
    )
    await users.create(
        tenant,
        user_code="away",
        password="2468",
        account_type=AccountType.REGULAR,
        stores=[elsewhere],
    )
    await users.create(
        tenant,
        user_code="c0",
        password="2468",
        account_type=AccountType.REGULAR,
        stores=[store],
        status=UserStatus.INACTIVE,
    )
    page = await users.page_with_access_to_store(
        tenant,
        store,
        PageRequest(1, 2, "user_code", SortDirection.DESC),
        account_types=[AccountType.REGULAR],
    )
    assert [u.user_code for u in page.items] == ["c3", "c2"]
    assert page.total_count == 3
    everyone = await users.page_with_access_to_store(
        tenant, store, PageRequest(1, 50, "user_code", SortDirection.ASC)
    )
    assert [u.user_code for u in everyone.items] == ["c1", "c2", "c3", "f1"]


@pytest.mark.parametrize(
    ("account_type", "password"),
    [
        (AccountType.REGULAR, "123"),
        (AccountType.REGULAR, "12345"),
        (AccountType.REGULAR, "12a4"),
        (AccountType.REGULAR, "1111"),
        (AccountType.FULL, "x"),
        (AccountType.FULL, "onlyletterslong"),
        (AccountType.FULL, "aaaaaaaa1111"),
        (AccountType.INTEGRATION, "2468"),
    ],
)
async def test_a_password_outside_the_policy_is_refused_on_create_and_on_change(
    session: AsyncSession, account_type: AccountType, password: str
) -> None:
    tenant = await factories.tenant(session)
    users = UserService(session)
    with pytest.raises(ValidationFailed) as caught:
        await users.create(tenant, user_code="u", password=password, account_type=account_type)
    assert set(caught.value.errors) == {"password"}
    user = await factories.user(session, tenant, account_type=account_type)
    with pytest.raises(ValidationFailed):
        await users.set_password(user, password)


@pytest.mark.parametrize(
    ("account_type", "password"),
    [(AccountType.REGULAR, "2468"), (AccountType.FULL, "demo-admin-pass")],
)
async def test_a_pin_for_a_cashier_and_a_long_mixed_password_for_others_are_accepted(
    session: AsyncSession, account_type: AccountType, password: str
) -> None:
    tenant = await factories.tenant(session)
    user = await UserService(session).create(
        tenant, user_code="u", password=password, account_type=account_type
    )
    assert await UserService(session).check_password(user, password)
