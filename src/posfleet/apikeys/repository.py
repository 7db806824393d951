"""Every query about Commerce Engine API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.keyring import hash_is_any
from posfleet.models import ApiKey, Tenant


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def with_tenant_by_hash(self, key_hashes: Sequence[str]) -> tuple[ApiKey, Tenant] | None:
        """The key with one of these hashes (one per live server secret), with its tenant."""
        row = (
            await self.session.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(hash_is_any(ApiKey.key_hash, key_hashes))
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def rehash(
        self, key_id: int, old_secret_key_id: str, key_hash: str, secret_key_id: str
    ) -> None:
        """Store the key's hash under the newest server secret (once: a concurrent request
        that did it first leaves nothing to do)."""
        await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.secret_key_id == old_secret_key_id)
            .values(key_hash=key_hash, secret_key_id=secret_key_id)
            .execution_options(synchronize_session=False)
        )

    async def of_tenant(self, tenant_id: int) -> Sequence[ApiKey]:
        result = await self.session.scalars(
            select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
        )
        return result.all()

    async def get_by_uid(self, uid: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.uid == uid))

    async def flush(self) -> None:
        await self.session.flush()
