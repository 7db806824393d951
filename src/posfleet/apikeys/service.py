"""Commerce Engine API keys (``X-Api-Key``): issued once, stored as a keyed hash, revocable.

A key is bound to one tenant, the ``storefront`` scope and the POS channel; a key of another
tenant, scope or channel, a revoked key and an unknown key are all the same 401.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apikeys.repository import ApiKeyRepository
from posfleet.errors import NotFound, Unauthorized, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import new_secret
from posfleet.models import ApiKey, Tenant
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService

KEY_PREFIX = "pfk_"
SCOPE_STOREFRONT = "storefront"
CHANNEL_POS = "pos"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


class ApiKeyService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = ApiKeyRepository(session)
        self.tenants = TenantService(session)
        self.hasher = runtime.hasher

    async def _tenant(self, tenant_uid: str) -> Tenant:
        return await self.tenants.get_tenant(tenant_uid)

    async def create(
        self,
        tenant_uid: str,
        name: str,
        *,
        scope: str = SCOPE_STOREFRONT,
        channel: str = CHANNEL_POS,
    ) -> IssuedKey:
        name = name.strip()
        if not name or len(name) > 200:
            raise ValidationFailed(
                "A key needs a name of 1 to 200 characters", errors={"name": "1-200 characters"}
            )
        tenant = await self._tenant(tenant_uid)
        secret = new_secret(KEY_PREFIX)
        key = await self.repository.add(
            ApiKey(
                tenant_id=tenant.id,
                name=name,
                prefix=secret[: len(KEY_PREFIX) + 6],
                key_hash=self.hasher.hash(secret),
                secret_key_id=self.hasher.key_id,
                scope=scope,
                channel=channel,
            )
        )
        return IssuedKey(key, secret)

    async def of_tenant(self, tenant_uid: str) -> Sequence[ApiKey]:
        tenant = await self._tenant(tenant_uid)
        return await self.repository.of_tenant(tenant.id)

    async def revoke(self, uid: str, tenant_uid: str | None = None) -> ApiKey:
        """Revoke key ``uid``; with ``tenant_uid``, only a key of that tenant (another tenant's
        key is as unknown as a missing one)."""
        key = await self.repository.get_by_uid(uid)
        if (
            key is not None
            and tenant_uid is not None
            and key.tenant_id != (await self._tenant(tenant_uid)).id
        ):
            key = None
        if key is None:
            raise NotFound(f"No API key {uid}")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            await self.repository.flush()
        return key

    async def authenticate(self, tenant_uid: str, presented: str | None) -> Tenant:
        """The tenant a storefront POS key opens, or 401."""
        if not presented:
            raise Unauthorized("An X-Api-Key header is required")
        found = await self.repository.with_tenant_by_hash(self.hasher.hashes(presented))
        if found is None:
            raise Unauthorized("The API key is not valid")
        key, tenant = found
        if (
            key.revoked_at is not None
            or tenant.uid != tenant_uid
            or key.scope != SCOPE_STOREFRONT
            or key.channel != CHANNEL_POS
        ):
            raise Unauthorized("The API key is not valid for this store")
        if key.secret_key_id != self.hasher.key_id:
            # Hashed under an older server secret: API keys live for years, so the first use
            # after a rotation hashes the key anew, and the old secret stops being needed.
            await self.repository.rehash(
                key.id, key.secret_key_id, self.hasher.hash(presented), self.hasher.key_id
            )
        return tenant
