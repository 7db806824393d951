"""Back-office sign-in (``authToken``) and the Flow exchange for a tenant ``accessToken``.

A wrong user code and a wrong password get the same 401 after the same argon2 work, so the answer
says nothing about which user codes exist.  Attempts are counted per client address in the
database, so the budget holds across replicas; each account also has a budget of its own, from
any address, with growing delays (``kit/ratelimit.AccountBudget``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import BadRequest, Forbidden, Unauthorized
from posfleet.kit import ratelimit
from posfleet.kit.jwt import TokenType
from posfleet.models import Tenant, TenantUser
from posfleet.models.enums import AccountType, UserStatus
from posfleet.runtime import Runtime
from posfleet.tenants.service import TenantService
from posfleet.tokens.service import TokenService
from posfleet.users.service import UserService

# Accounts that may sign in to the back office; REGULAR users work only on onboarded devices and
# INTEGRATION users hold integration tokens instead of passwords.
BACK_OFFICE_ACCOUNTS = frozenset({AccountType.FULL, AccountType.SUPPORT})


class LoginFailed(Unauthorized):
    """Wrong credentials.  The attempt stays counted although the request fails."""

    code = "invalid_credentials"
    keeps_work = True

    def __init__(self) -> None:
        super().__init__("The user code or password is wrong")


class NoBackOfficeAccess(Forbidden):
    """The password is right but the account may not use the back office.  Said plainly only
    to someone who knows the password; the attempt stays counted."""

    code = "no_back_office_access"
    keeps_work = True

    def __init__(self) -> None:
        super().__init__(
            "This account works on store devices only and cannot sign in to the back office"
        )


class AuthService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.users = UserService(session)
        self.tenants = TenantService(session)
        self.tokens = TokenService(session, runtime)

    async def login(
        self, user_code: str, password: str, tenant_uid: str | None, address: str
    ) -> tuple[str, datetime]:
        """An ``authToken`` for a back-office user, or :class:`LoginFailed`."""
        try:
            user = await self.back_office_user(user_code, password, tenant_uid, address)
        except NoBackOfficeAccess:
            raise LoginFailed from None
        tenant = await self.tenants.get_tenant_by_id(user.tenant_id)
        return self.tokens.auth_token(user, tenant)

    async def back_office_user(
        self, user_code: str, password: str, tenant_uid: str | None, address: str
    ) -> TenantUser:
        """The active back-office user with these credentials, charged to the same per-address
        budget as every sign-in; :class:`NoBackOfficeAccess` when the password is right but the
        account is not a back-office one."""
        settings = self.runtime.settings
        await self.runtime.limiter.hit(
            ratelimit.LOGIN, settings, session=self.session, address=address
        )
        accounts = await self._accounts(user_code, tenant_uid)
        budget = self.runtime.limiter.accounts(settings)
        await budget.enter(self.session, accounts)
        user = await self._check(user_code, password, tenant_uid)
        await budget.succeeded(self.session, accounts)
        if user.status is not UserStatus.ACTIVE:
            raise LoginFailed
        if user.account_type not in BACK_OFFICE_ACCOUNTS:
            raise NoBackOfficeAccess
        return user

    async def _accounts(self, user_code: str, tenant_uid: str | None) -> list[dict[str, str]]:
        """The account budgets an attempt is charged to: without a tenant, every tenant's user
        of that code (an unknown code has a budget of its own, so that a delay reveals nothing)."""
        if tenant_uid:
            tenant = await self.tenants.find_tenant(tenant_uid)
            tenant_ids = [tenant.id] if tenant else []
        else:
            found = await self.users.find_by_user_code_any_tenant(user_code)
            tenant_ids = sorted({user.tenant_id for user in found})
        return [ratelimit.account(tenant_id, user_code) for tenant_id in tenant_ids] or [
            ratelimit.account(None, user_code)
        ]

    async def _check(self, user_code: str, password: str, tenant_uid: str | None) -> TenantUser:
        if tenant_uid:
            tenant = await self.tenants.find_tenant(tenant_uid)
            user = await self.users.find_by_user_code(tenant, user_code) if tenant else None
            valid = await self.users.check_password(user, password)
            if not valid or user is None:
                raise LoginFailed
            return user
        candidates = list(await self.users.find_by_user_code_any_tenant(user_code))
        if not candidates:
            await self.users.check_password(None, password)
            raise LoginFailed
        # Only someone who knows a password learns that the user code is in several tenants.
        matching = [u for u in candidates if await self.users.check_password(u, password)]
        if not matching:
            raise LoginFailed
        if len(matching) > 1:
            raise BadRequest(
                "This user code exists in several tenants: give tenantUid",
                code="tenant_required",
            )
        return matching[0]

    async def exchange(self, auth_token: str, tenant_uid: str) -> tuple[str, datetime]:
        """A short-lived tenant ``accessToken`` for the holder of a live ``authToken``."""
        principal = await self.tokens.authenticate(auth_token, TokenType.AUTH)
        if principal.tenant.uid != tenant_uid or principal.user is None:
            raise Forbidden("The token does not grant access to this tenant")
        return self.tokens.access_token(principal.user, principal.tenant)

    async def tenant(self, uid: str) -> Tenant:
        return await self.tenants.get_tenant(uid)
