"""Who may work on a linked device, and a user logging in on it.

Any ACTIVE user of the device's tenant with access to the device's store may log in (REGULAR
users included: onboarding is FULL users' business, selling is everyone's).  A device not placed
in a store admits only users with access to every store.  The access token names the user and
the device, and dies with either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import BadRequest
from posfleet.kit import ratelimit
from posfleet.kit.clock import utcnow
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import Device, Tenant, TenantUser
from posfleet.models.enums import AccountType, UserStatus
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from posfleet.users.service import UserService


@dataclass(frozen=True, slots=True)
class DeviceLogin:
    user: TenantUser
    access_token: str
    expires: datetime


class DeviceUserService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.users = UserService(session)
        self.tokens = TokenService(session, runtime)

    async def may_work_on(self, user: TenantUser, device: Device) -> bool:
        if user.tenant_id != device.tenant_id or user.status is not UserStatus.ACTIVE:
            return False
        if device.store_id is None:
            return user.all_stores
        return await self.users.has_store_access(user, device.store_id)

    async def login(
        self, device: Device, tenant: Tenant, user_code: str, password: str, *, address: str
    ) -> DeviceLogin:
        settings = self.runtime.settings
        await self.runtime.limiter.hit(
            ratelimit.DEVICE_LOGIN, settings, session=self.session, address=address
        )
        # PINs are short: the account's own budget holds whatever addresses the guesses use.
        accounts = [ratelimit.account(tenant.id, user_code)]
        budget = self.runtime.limiter.accounts(settings)
        await budget.enter(self.session, accounts)
        user = await self.users.find_by_user_code(tenant, user_code)
        if not await self.users.check_password(user, password) or user is None:
            raise BadRequest("The user code or password is wrong", code="invalid_credentials")
        await budget.succeeded(self.session, accounts)
        if user.status is not UserStatus.ACTIVE:
            raise BadRequest("The user is not active", code="user_inactive")
        if not await self.may_work_on(user, device):
            raise BadRequest(
                "The user has no access to the store of this device", code="no_store_access"
            )
        now = utcnow()
        user.last_accessed_at = now
        device.last_tenant_user_uid = user.uid
        token, expires = self.tokens.device_user_token(user, device, tenant)
        return DeviceLogin(user, token, expires)

    async def page(
        self, device: Device, page: PageRequest, account_types: Sequence[AccountType]
    ) -> Page[TenantUser]:
        """Active users who may log in on the device; ``page.sort_by`` is a user sort field."""
        # No store has id 0: a device outside any store lists the all-stores users only.
        store_id = device.store_id if device.store_id is not None else 0
        return await self.users.page_with_access_to_store(
            device.tenant_id, store_id, page, account_types=account_types
        )
