"""Every query about which device-flow clients a tenant allows."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import DeviceFlowAccess, DeviceFlowAllowedClient


class ClientAccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def access(self, tenant_id: int) -> DeviceFlowAccess | None:
        return await self.session.get(DeviceFlowAccess, tenant_id)

    async def allowed_ids(self, tenant_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(DeviceFlowAllowedClient.client_id).where(
                DeviceFlowAllowedClient.tenant_id == tenant_id
            )
        )
        return set(rows.all())

    async def is_listed(self, tenant_id: int, client_id: int) -> bool:
        found = await self.session.get(DeviceFlowAllowedClient, (tenant_id, client_id))
        return found is not None

    async def save(self, access: DeviceFlowAccess, client_ids: Iterable[int]) -> None:
        """``access`` and exactly ``client_ids`` as the tenant's list."""
        await self.session.merge(access)
        await self.session.execute(
            delete(DeviceFlowAllowedClient).where(
                DeviceFlowAllowedClient.tenant_id == access.tenant_id
            )
        )
        self.session.add_all(
            DeviceFlowAllowedClient(tenant_id=access.tenant_id, client_id=client_id)
            for client_id in client_ids
        )
        await self.session.flush()
