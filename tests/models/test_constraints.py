"""The schema's own guarantees, on SQLite and PostgreSQL alike: uniqueness, checks, cascades.

These insert rows directly (bypassing the services) so that they prove what the database
enforces even when a service has a bug.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.models import (
    ApiKey,
    AuditEvent,
    Device,
    DevicePrinter,
    DeviceRefreshToken,
    DeviceSettingValue,
    IntegrationToken,
    LinkCode,
    PairingCode,
    Printer,
    Store,
    StorePaymentMethod,
    TenantUser,
    Till,
    UserStoreAccess,
)
from posfleet.models.enums import CodeState, PaymentCode
from posfleet.tenants.service import TenantService
from posfleet.tenants.stores import StoreService
from tests import factories
from tests.conftest import unique


async def refused(session: AsyncSession, work: Awaitable[Any]) -> None:
    """The database refuses ``work``; the session stays usable (a savepoint rolls back)."""
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await work


async def count(session: AsyncSession, model: type[Any], *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def reload(session: AsyncSession, model: type[Any], row_id: int) -> Any:
    return await session.scalar(
        select(model).where(model.id == row_id).execution_options(populate_existing=True)
    )


async def test_a_till_number_is_unique_within_its_store(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    store, other = await factories.store(session, tenant), await factories.store(session, tenant)
    await factories.till(session, store, number=1)
    await refused(session, factories.till(session, store, number=1))
    assert (await factories.till(session, other, number=1)).number == 1


async def test_a_till_number_must_be_positive(session: AsyncSession) -> None:
    store = await factories.store(session, await factories.tenant(session))
    await refused(session, factories.till(session, store, number=0))


async def test_a_till_is_bound_to_at_most_one_device(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)
    till = await factories.till(session, store)
    await factories.device(session, tenant, store=store, till=till)
    await refused(session, factories.device(session, tenant, store=store, till=till))


async def test_a_device_uid_is_unique_within_a_tenant_only(session: AsyncSession) -> None:
    tenant, other = await factories.tenant(session), await factories.tenant(session)
    uid = unique("device")
    await factories.device(session, tenant, uid=uid)
    await refused(session, factories.device(session, tenant, uid=uid))
    assert (await factories.device(session, other, uid=uid)).uid == uid


async def test_a_user_code_is_unique_within_a_tenant_only(session: AsyncSession) -> None:
    tenant, other = await factories.tenant(session), await factories.tenant(session)
    await factories.user(session, tenant, user_code="kari")
    await refused(session, factories.user(session, tenant, user_code="kari"))
    assert (await factories.user(session, other, user_code="kari")).user_code == "kari"


async def test_a_store_has_at_most_one_zero_amount_method(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)

    async def method(zero: bool) -> None:
        session.add(
            StorePaymentMethod(
                tenant_id=tenant.id,
                store_id=store.id,
                code=PaymentCode.CASH,
                name="m",
                is_zero_amount=zero,
            )
        )
        await session.flush()

    await method(False)
    await method(False)
    await method(True)
    await refused(session, method(True))


async def test_a_device_has_at_most_one_live_link_code(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    device = await factories.device(session, tenant)

    async def code(state: CodeState) -> None:
        session.add(
            LinkCode(
                tenant_id=tenant.id,
                device_id=device.id,
                code_hash=unique("hash"),
                secret_key_id="k",
                state=state,
            )
        )
        await session.flush()

    await code(CodeState.LIVE)
    await code(CodeState.REVOKED)
    await code(CodeState.SPENT)
    await refused(session, code(CodeState.LIVE))


async def test_a_live_link_code_hash_is_unique_across_devices(session: AsyncSession) -> None:
    tenant = await factories.tenant(session)
    first, second = await factories.device(session, tenant), await factories.device(session, tenant)
    code_hash = unique("hash")
    session.add(
        LinkCode(tenant_id=tenant.id, device_id=first.id, code_hash=code_hash, secret_key_id="k")
    )
    await session.flush()

    async def same_code() -> None:
        session.add(
            LinkCode(
                tenant_id=tenant.id, device_id=second.id, code_hash=code_hash, secret_key_id="k"
            )
        )
        await session.flush()

    await refused(session, same_code())


async def _a_tenant_with_everything(session: AsyncSession) -> dict[str, Any]:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)
    till = await factories.till(session, store)
    printer = await factories.printer(session, tenant, store_id=store.id)
    user = await factories.user(session, tenant, stores=[store])
    device = await factories.device(session, tenant, store=store, till=till)
    now = utcnow()
    session.add_all(
        [
            DevicePrinter(device_id=device.id, printer_id=printer.id),
            LinkCode(
                tenant_id=tenant.id, device_id=device.id, code_hash=unique("h"), secret_key_id="k"
            ),
            PairingCode(
                tenant_id=tenant.id,
                device_id=device.id,
                code_hash=unique("h"),
                secret_key_id="k",
                expires_at=now + timedelta(minutes=5),
            ),
            DeviceRefreshToken(
                tenant_id=tenant.id,
                device_id=device.id,
                token_hash=unique("h"),
                secret_key_id="k",
                app_id="app",
                credential_generation=1,
            ),
            ApiKey(
                tenant_id=tenant.id, name="k", prefix="pk", key_hash=unique("h"), secret_key_id="k"
            ),
            IntegrationToken(tenant_id=tenant.id, user_id=user.id, name="erp"),
            StorePaymentMethod(
                tenant_id=tenant.id, store_id=store.id, code=PaymentCode.CASH, name="Cash"
            ),
            AuditEvent(tenant_id=tenant.id, device_uid=device.uid, actor="t", action="created"),
        ]
    )
    await session.flush()
    return {"tenant": tenant, "store": store, "till": till, "user": user, "device": device}


OWNED_BY_TENANT = (
    Store,
    Till,
    Printer,
    TenantUser,
    Device,
    LinkCode,
    PairingCode,
    DeviceRefreshToken,
    ApiKey,
    IntegrationToken,
    StorePaymentMethod,
    AuditEvent,
)


async def test_deleting_a_tenant_removes_everything_it_owns_and_nothing_else(
    session: AsyncSession,
) -> None:
    doomed = await _a_tenant_with_everything(session)
    kept = await _a_tenant_with_everything(session)
    await TenantService(session).delete_tenant(doomed["tenant"].id)
    for model in OWNED_BY_TENANT:
        assert await count(session, model, model.tenant_id == doomed["tenant"].id) == 0, model
        assert await count(session, model, model.tenant_id == kept["tenant"].id) >= 1, model
    assert await count(session, DevicePrinter, DevicePrinter.device_id == doomed["device"].id) == 0
    assert await count(session, UserStoreAccess, UserStoreAccess.user_id == doomed["user"].id) == 0


async def test_deleting_a_store_unplaces_its_devices_and_removes_its_tills(
    session: AsyncSession,
) -> None:
    world = await _a_tenant_with_everything(session)
    await StoreService(session).delete_store(world["tenant"].id, world["store"].uid)
    device = await reload(session, Device, world["device"].id)
    assert device is not None
    assert (device.store_id, device.till_id) == (None, None)
    assert await count(session, Till, Till.id == world["till"].id) == 0
    assert (
        await count(session, StorePaymentMethod, StorePaymentMethod.store_id == world["store"].id)
        == 0
    )
    assert await count(session, UserStoreAccess, UserStoreAccess.store_id == world["store"].id) == 0
    assert await count(session, TenantUser, TenantUser.id == world["user"].id) == 1
    assert await count(session, LinkCode, LinkCode.device_id == device.id) == 1


async def test_deleting_a_device_removes_its_credentials_but_keeps_its_audit_trail(
    session: AsyncSession,
) -> None:
    world = await _a_tenant_with_everything(session)
    device = world["device"]
    await session.delete(device)
    await session.flush()
    for model in (LinkCode, PairingCode, DeviceRefreshToken):
        assert await count(session, model, model.device_id == device.id) == 0, model
    assert await count(session, DevicePrinter, DevicePrinter.device_id == device.id) == 0
    assert await count(session, DeviceSettingValue, DeviceSettingValue.device_id == device.id) == 0
    assert await count(session, AuditEvent, AuditEvent.device_uid == device.uid) == 1
    assert await count(session, Till, Till.id == world["till"].id) == 1


async def test_deleting_a_user_releases_the_device_it_claimed(session: AsyncSession) -> None:
    world = await _a_tenant_with_everything(session)
    device, user = world["device"], world["user"]
    device.claimed_by_user_id = user.id
    await session.flush()
    await session.delete(user)
    await session.flush()
    assert (await reload(session, Device, device.id)).claimed_by_user_id is None
    assert await count(session, IntegrationToken, IntegrationToken.user_id == user.id) == 0
    assert await count(session, UserStoreAccess, UserStoreAccess.user_id == user.id) == 0


async def test_deleting_a_till_unbinds_its_device(session: AsyncSession) -> None:
    world = await _a_tenant_with_everything(session)
    await session.delete(world["till"])
    await session.flush()
    device = await reload(session, Device, world["device"].id)
    assert device.till_id is None
    assert device.store_id == world["store"].id
