"""DeviceService.details: a device with what it refers to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models import DeviceSettingDefinition
from posfleet.models.enums import AppCode, SettingType
from posfleet.runtime import Runtime
from tests import factories


async def test_details_show_the_device_setting_values_over_the_defaults(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    for key in ("font", "volume"):
        session.add(
            DeviceSettingDefinition(
                tenant_id=tenant.id, key=key, name=key, type=SettingType.STRING, default_value="d"
            )
        )
    await session.flush()
    service = DeviceService(session, runtime)
    device, _ = await service.create(
        tenant.id, name="a", app_code=AppCode.CLIENT, actor="x", settings=[("volume", "11")]
    )
    details = await service.details(device)
    assert {(s.key, s.value) for s in details.settings} == {("font", "d"), ("volume", "11")}
