"""Linking a physical device with its one-time link code (Flow ``POST /device/{code}/link``).

The rule, in order:

1. The caller's address is charged one attempt (``rate_limit_per_address`` per
   ``rate_limit_window_seconds``, shared by every replica).  With the default 8-symbol code from
   a 30-symbol alphabet (30^8 ≈ 6.6·10^11 codes) and 30 attempts a minute, an address needs
   about 10^10 minutes for even odds of hitting one live code (RFC 8628 section 5.1).
2. The code must be live.  Unknown, spent and revoked codes are 404; a code locked by failed
   attempts is 429 and stays locked until an administrator resets the device.
3. The app must be registered and active and fit the device: an app links devices of its own
   app code; a device of code UNKNOWN accepts any app and takes that app's code.
4. The user must be an ACTIVE FULL user of the device's tenant with access to the device's store
   (a device not yet placed in a store: a user with access to every store).  A wrong user code
   and a wrong password answer alike, after the same amount of work.
5. Every failure in 3-4 is charged to the code; ``link_code_max_failures`` of them lock it.
   Every password attempt is also charged to the user's account, from any address: past
   ``account_free_attempts`` each attempt waits a growing delay (429 ``sign_in_delayed``).
6. The code is spent with a conditional UPDATE: of concurrent links exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppRegistryService
from posfleet.devices.access_repository import DeviceAccessRepository
from posfleet.devices.service import DeviceService
from posfleet.errors import BadRequest, NotFound, TooManyRequests
from posfleet.kit import ratelimit
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import normalize_code
from posfleet.kit.hashing import refuse_when_busy
from posfleet.models import Device, LinkCode, RegisteredApp, Tenant, TenantUser
from posfleet.models.enums import AccountType, AppCode, CodeState, DeviceStatus, UserStatus
from posfleet.runtime import Runtime
from posfleet.tokens.device_refresh import DeviceRefreshService
from posfleet.tokens.service import TokenService
from posfleet.users.service import UserService

UNKNOWN_CODE = "No device is waiting for this link code (unknown, already used or revoked)"


class LinkFailed(BadRequest):
    """A failed attempt on a live code: it is counted, so the unit of work keeps it."""

    keeps_work = True


@dataclass(frozen=True, slots=True)
class LinkResult:
    device: Device
    tenant: Tenant
    user: TenantUser
    token: str
    expires: datetime
    refresh_token: str


class LinkService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.settings = runtime.settings
        self.repo = DeviceAccessRepository(session)
        self.devices = DeviceService(session, runtime)
        self.apps = AppRegistryService(session)
        self.users = UserService(session)
        self.refresh = DeviceRefreshService(session, runtime)

    async def link(
        self,
        typed_code: str,
        *,
        app_id: str,
        user_code: str,
        password: str,
        system_information: str | None,
        address: str,
    ) -> LinkResult:
        # Shed at once when the password check would be: a shed link then costs no queries.
        refuse_when_busy()
        # PostgreSQL: charged in a transaction of its own, before this unit of work touches
        # the database: the address's counter row is then locked for a moment, not for the whole
        # link with its password check, so that links from one address (a store behind one NAT)
        # do not queue behind each other holding database connections.  SQLite: in this unit of
        # work, which writes anyway and so holds the one write turn until it ends whichever
        # row it charges; a transaction of its own would cost a second turn and commit.
        await self.runtime.limiter.hit(
            ratelimit.LINK,
            self.settings,
            session=self.session if self.settings.is_sqlite else None,
            address=address,
        )
        code = normalize_code(typed_code)
        found = await self.repo.link_code(self.runtime.hasher.hashes(code)) if code else None
        if found is None:
            raise NotFound(UNKNOWN_CODE, code="unknown_link_code", keeps_work=True)
        link_code, device, tenant = found
        if link_code.state in (CodeState.SPENT, CodeState.REVOKED):
            raise NotFound(UNKNOWN_CODE, code="unknown_link_code", keeps_work=True)
        if link_code.state is CodeState.LOCKED:
            raise TooManyRequests(
                f"This link code is locked after {link_code.failed_attempts} failed attempts; "
                "an administrator must reset the device to get a new link code",
                retry_after=self.settings.rate_limit_window_seconds,
                code="link_code_locked",
            )
        if device.status is not DeviceStatus.READY_TO_LINK:
            raise NotFound(UNKNOWN_CODE, code="unknown_link_code", keeps_work=True)

        user, app = await self._check(link_code, device, tenant, app_id, user_code, password)

        now = utcnow()
        if not await self.repo.spend_link_code(link_code.id, now):
            raise NotFound(UNKNOWN_CODE, code="unknown_link_code", keeps_work=True)
        if device.app_code is AppCode.UNKNOWN:
            device.app_code = app.app_code
        await self.devices.activate(
            device,
            user.user_code,
            how="link code",
            user_uid=user.uid,
            system_information=system_information,
        )
        token, expires = TokenService(self.session, self.runtime).device_token(device, tenant)
        refresh_token = await self.refresh.issue(device, app_id)
        return LinkResult(device, tenant, user, token, expires, refresh_token)

    async def _check(
        self,
        link_code: LinkCode,
        device: Device,
        tenant: Tenant,
        app_id: str,
        user_code: str,
        password: str,
    ) -> tuple[TenantUser, RegisteredApp]:
        app = await self.apps.find_app(app_id)
        if app is None or not app.is_active:
            await self._fail(link_code, f"App {app_id!r} is not registered", "unknown_app")
        if device.app_code not in (AppCode.UNKNOWN, app.app_code):
            await self._fail(
                link_code,
                f"App {app_id!r} is a {app.app_code} app and cannot link a "
                f"{device.app_code} device",
                "app_mismatch",
            )
        accounts = [ratelimit.account(tenant.id, user_code)]
        budget = self.runtime.limiter.accounts(self.settings)
        await budget.enter(self.session, accounts)
        user = await self.users.find_by_user_code(tenant, user_code)
        if not await self.users.check_password(user, password) or user is None:
            await self._fail(link_code, "The user code or password is wrong", "invalid_credentials")
        await budget.succeeded(self.session, accounts)
        if user.status is not UserStatus.ACTIVE:
            await self._fail(link_code, "The user is not active", "user_inactive")
        if user.account_type is not AccountType.FULL:
            await self._fail(
                link_code,
                "Only a FULL user may link a device; this user may only log in on linked devices",
                "user_not_full",
            )
        allowed = (
            await self.users.has_store_access(user, device.store_id)
            if device.store_id is not None
            else user.all_stores
        )
        if not allowed:
            await self._fail(
                link_code, "The user has no access to the device's store", "no_store_access"
            )
        return user, app

    async def _fail(self, link_code: LinkCode, message: str, code: str) -> NoReturn:
        max_failures = self.settings.link_code_max_failures
        if await self.repo.charge_failed_link(link_code.id, max_failures, utcnow()):
            message += (
                f"; the link code is now locked after {max_failures} failed attempts and an "
                "administrator must reset the device"
            )
        raise LinkFailed(message, code=code)
