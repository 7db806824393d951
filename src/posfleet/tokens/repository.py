"""The rows a token's claims point at, looked up on every request (revocation is checked live)."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import Device, IntegrationToken, Tenant, TenantUser

# Built once: building the statement cost more than compiling it (which SQLAlchemy caches).
_TENANT_AND_DEVICE = (
    select(Tenant, Device)
    .outerjoin(Device, and_(Device.tenant_id == Tenant.id, Device.uid == bindparam("device_uid")))
    .where(Tenant.uid == bindparam("tenant_uid"))
)
_TENANT_AND_USER = (
    select(Tenant, TenantUser)
    .outerjoin(
        TenantUser,
        and_(TenantUser.tenant_id == Tenant.id, TenantUser.uid == bindparam("user_uid")),
    )
    .where(Tenant.uid == bindparam("tenant_uid"))
)
_USER = select(TenantUser).where(
    TenantUser.tenant_id == bindparam("tenant_id"), TenantUser.uid == bindparam("user_uid")
)


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant(self, uid: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.uid == uid))

    async def tenant_and_device(
        self, tenant_uid: str, device_uid: str
    ) -> tuple[Tenant | None, Device | None]:
        """The tenant and its device in one round trip (a device token is checked per request)."""
        params = {"tenant_uid": tenant_uid, "device_uid": device_uid}
        row = (await self.session.execute(_TENANT_AND_DEVICE, params)).first()
        return (None, None) if row is None else (row[0], row[1])

    async def tenant_and_user(
        self, tenant_uid: str, user_uid: str
    ) -> tuple[Tenant | None, TenantUser | None]:
        """The tenant and its user in one round trip (an admin token is checked per request)."""
        params = {"tenant_uid": tenant_uid, "user_uid": user_uid}
        row = (await self.session.execute(_TENANT_AND_USER, params)).first()
        return (None, None) if row is None else (row[0], row[1])

    async def user(self, tenant_id: int, uid: str) -> TenantUser | None:
        return await self.session.scalar(_USER, {"tenant_id": tenant_id, "user_uid": uid})

    async def device(self, tenant_id: int, uid: str) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.tenant_id == tenant_id, Device.uid == uid)
        )

    async def integration_token(self, jti: str) -> IntegrationToken | None:
        return await self.session.scalar(
            select(IntegrationToken).where(IntegrationToken.jti == jti)
        )
