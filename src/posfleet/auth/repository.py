"""Queries about integration tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.models import IntegrationToken, TenantUser


class IntegrationTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: IntegrationToken) -> IntegrationToken:
        self.session.add(row)
        await self.session.flush()
        return row

    async def of_tenant(self, tenant_id: int) -> Sequence[tuple[IntegrationToken, TenantUser]]:
        rows = await self.session.execute(
            select(IntegrationToken, TenantUser)
            .join(TenantUser, TenantUser.id == IntegrationToken.user_id)
            .where(IntegrationToken.tenant_id == tenant_id)
            .order_by(IntegrationToken.created_at, IntegrationToken.id)
        )
        return [(token, user) for token, user in rows]

    async def revoke(self, tenant_id: int, jti: str, now: datetime) -> bool:
        """Revoke a live token; False when the tenant has no such live token."""
        result = await self.session.execute(
            update(IntegrationToken)
            .where(
                IntegrationToken.tenant_id == tenant_id,
                IntegrationToken.jti == jti,
                IntegrationToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return affected_rows(result) > 0
