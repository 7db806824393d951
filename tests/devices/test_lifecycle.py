"""The device lifecycle rules of devices/service.py, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceChanges, DeviceService
from posfleet.errors import BadRequest, ValidationFailed
from posfleet.kit.codes import CODE_ALPHABET
from posfleet.models import LinkCode
from posfleet.models.enums import AppCode, CodeState, DeviceStatus
from posfleet.runtime import Runtime
from tests import factories


async def test_a_new_device_waits_for_linking_with_a_typeable_code(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    device, code = await DeviceService(session, runtime).create(
        tenant.id, name="Front till", app_code=AppCode.CLIENT, actor="admin"
    )
    assert device.status is DeviceStatus.READY_TO_LINK
    assert len(code) == runtime.settings.link_code_length
    assert set(code) <= set(CODE_ALPHABET)
    stored = (await session.scalars(select(LinkCode).where(LinkCode.device_id == device.id))).one()
    assert stored.code_hash == runtime.hasher.hash(code)
    assert code not in stored.code_hash


async def test_a_till_of_another_store_is_refused(session: AsyncSession, runtime: Runtime) -> None:
    tenant = await factories.tenant(session)
    store_a = await factories.store(session, tenant)
    store_b = await factories.store(session, tenant)
    till_b = await factories.till(session, store_b)
    with pytest.raises(ValidationFailed, match="does not belong"):
        await DeviceService(session, runtime).create(
            tenant.id,
            name="x",
            app_code=AppCode.CLIENT,
            actor="admin",
            store_uid=store_a.uid,
            till_uid=till_b.uid,
        )


async def test_a_till_bound_to_a_device_is_refused_to_another(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)
    till = await factories.till(session, store)
    service = DeviceService(session, runtime)
    await service.create(
        tenant.id, name="a", app_code=AppCode.CLIENT, actor="admin", till_uid=till.uid
    )
    with pytest.raises(ValidationFailed, match="already bound"):
        await service.create(
            tenant.id, name="b", app_code=AppCode.CLIENT, actor="admin", till_uid=till.uid
        )


async def test_reset_revokes_the_old_code_and_issues_a_new_identifier(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    service = DeviceService(session, runtime)
    device, first = await service.create(
        tenant.id, name="a", app_code=AppCode.CLIENT, actor="admin"
    )
    identifier, generation = device.identifier, device.credential_generation
    second = await service.reset_link(device, "admin")
    states = {
        row.code_hash: row.state
        for row in await session.scalars(select(LinkCode).where(LinkCode.device_id == device.id))
    }
    assert states[runtime.hasher.hash(first)] is CodeState.REVOKED
    assert states[runtime.hasher.hash(second)] is CodeState.LIVE
    assert device.identifier != identifier
    assert device.credential_generation == generation + 1


async def test_only_linking_makes_a_device_active(session: AsyncSession, runtime: Runtime) -> None:
    tenant = await factories.tenant(session)
    service = DeviceService(session, runtime)
    device, _ = await service.create(tenant.id, name="a", app_code=AppCode.CLIENT, actor="admin")
    with pytest.raises(BadRequest, match="only by linking"):
        await service.update(device, DeviceChanges(status=DeviceStatus.ACTIVE), "admin")
    with pytest.raises(BadRequest, match="Only an active device"):
        await service.update(device, DeviceChanges(status=DeviceStatus.BLOCKED), "admin")


async def test_block_and_unblock_move_between_active_and_blocked(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    service = DeviceService(session, runtime)
    device, _ = await service.create(tenant.id, name="a", app_code=AppCode.CLIENT, actor="admin")
    await service.activate(device, "admin", how="test")
    await service.update(device, DeviceChanges(status=DeviceStatus.BLOCKED), "admin")
    assert device.status is DeviceStatus.BLOCKED
    await service.update(device, DeviceChanges(status=DeviceStatus.ACTIVE), "admin")
    assert device.status is DeviceStatus.ACTIVE


async def test_moving_to_another_store_unbinds_the_old_till(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    store_a = await factories.store(session, tenant)
    store_b = await factories.store(session, tenant)
    till_a = await factories.till(session, store_a)
    service = DeviceService(session, runtime)
    device, _ = await service.create(
        tenant.id, name="a", app_code=AppCode.CLIENT, actor="admin", till_uid=till_a.uid
    )
    assert device.store_id == store_a.id
    await service.update(device, DeviceChanges(store_uid=store_b.uid), "admin")
    assert (device.store_id, device.till_id) == (store_b.id, None)
