"""Every query about Commerce Engine API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import ApiKey, Tenant


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def with_tenant_by_hash(self, key_hash: str) -> tuple[ApiKey, Tenant] | None:
        row = (
            await self.session.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.key_hash == key_hash)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def of_tenant(self, tenant_id: int) -> Sequence[ApiKey]:
        result = await self.session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
        )
        return result.all()

    async def get_by_uid(self, uid: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.uid == uid))

    async def flush(self) -> None:
        await self.session.flush()
