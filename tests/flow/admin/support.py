"""A tenant with an administrator and the bearer headers to act as them, for the admin tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import Store, Tenant, TenantUser, Till
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories


@dataclass
class Admin:
    tenant: Tenant
    user: TenantUser
    store: Store
    till: Till
    headers: dict[str, str]

    def url(self, suffix: str = "") -> str:
        return f"/v2/tenants/{self.tenant.uid}/devices{suffix}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin(
    session: AsyncSession, runtime: Runtime, *, permissions: list[str] | None = None
) -> Admin:
    """A committed tenant with one store and till, and an authToken of a TENANT.ADMIN user."""
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant, name="Karl Johans gate")
    till = await factories.till(session, store, number=1, name="Counter one")
    user = await factories.user(
        session, tenant, permissions=["TENANT.ADMIN"] if permissions is None else permissions
    )
    await session.commit()
    token, _ = TokenService(session, runtime).auth_token(user, tenant)
    return Admin(tenant, user, store, till, bearer(token))
