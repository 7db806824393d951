"""Integration tokens: long-lived JWTs of INTEGRATION users, shown once, listed, revocable.

The JWT names its row by ``jti``; :class:`~posfleet.tokens.service.TokenService` checks the row
on every request, so a revoked token fails on its next use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.auth.repository import IntegrationTokenRepository
from posfleet.errors import NotFound, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.models import IntegrationToken, TenantUser
from posfleet.models.enums import AccountType, UserStatus
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService
from posfleet.tokens.service import TokenService
from posfleet.users.service import UserService


@dataclass(frozen=True, slots=True)
class IssuedToken:
    row: IntegrationToken
    token: str
    expires: datetime


class IntegrationTokenService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repo = IntegrationTokenRepository(session)
        self.tenants = TenantService(session)
        self.users = UserService(session)
        self.tokens = TokenService(session, runtime)

    async def create(
        self, tenant_uid: str, user_code: str, name: str, *, days: int | None = None
    ) -> IssuedToken:
        """A new token for an active INTEGRATION user; the plaintext exists only in the result."""
        tenant = await self.tenants.get_tenant(tenant_uid)
        user = await self.users.find_by_user_code(tenant, user_code)
        if user is None:
            raise NotFound(f"No user {user_code!r} in tenant {tenant_uid!r}")
        _check_integration_user(user)
        name = name.strip()
        if not name or len(name) > 200:
            raise ValidationFailed("A token needs a name of 1 to 200 characters")
        if days is not None and days < 1:
            raise ValidationFailed("A token must live at least one day")
        now = utcnow()
        row = await self.repo.add(
            IntegrationToken(
                tenant_id=tenant.id,
                user_id=user.id,
                name=name,
                created_at=now,
                expires_at=now + timedelta(days=days) if days else None,
            )
        )
        token, expires = self.tokens.integration_token(row, user, tenant)
        return IssuedToken(row, token, expires)

    async def list(self, tenant_uid: str) -> Sequence[tuple[IntegrationToken, TenantUser]]:
        tenant = await self.tenants.get_tenant(tenant_uid)
        return await self.repo.of_tenant(tenant.id)

    async def revoke(self, tenant_uid: str, jti: str) -> None:
        tenant = await self.tenants.get_tenant(tenant_uid)
        if not await self.repo.revoke(tenant.id, jti, utcnow()):
            raise NotFound(f"Tenant {tenant_uid!r} has no live integration token {jti!r}")


def _check_integration_user(user: TenantUser) -> None:
    if user.account_type is not AccountType.INTEGRATION:
        raise ValidationFailed(f"User {user.user_code!r} is not an INTEGRATION user")
    if user.status is not UserStatus.ACTIVE:
        raise ValidationFailed(f"User {user.user_code!r} is not active")
