"""Registering a device and deciding its grant (Flow ``POST /device``, ``/device/authorize``).

The rules:

1. **Register.**  A registered, active device-flow client asks for a grant.  The device gets a
   ``deviceCode`` a person types (``DEVICE_CODE_LENGTH`` symbols of a 30-symbol alphabet,
   case-, space- and dash-insensitive) and a ``deviceIdentifier``, a 256-bit secret that is its
   polling credential and, once approved, its long-lived credential.  Both are kept only as
   keyed hashes.  Registration is budgeted per address and per client.
2. **Guessing budget** (RFC 8628 sections 5.1 and 6.1).  Every authorization attempt is
   charged to the caller's address and to the tenant, in the database so that every replica
   counts it.  With 30^8 ≈ 6.6·10^11 codes and the default 30 attempts a minute per address,
   even a thousand pending grants leave an address about 2·10^7 minutes for even odds of
   hitting one; the tenant budget bounds what many addresses can do for one tenant.
3. **Authorize** (FULL or INTEGRATION user of the tenant; the page's signed-in FULL user).
   The tenant must allow the grant's client (:mod:`posfleet.deviceflow.access`; every active
   client unless the tenant lists the ones it allows).  The code must name a pending,
   unexpired grant; unknown, expired, denied and already authorized codes each answer 400
   with their own code.  The grant is decided with a
   conditional UPDATE: of concurrent decisions exactly one wins, and only the winner creates
   the device (ACTIVE, in the chosen store and till, with the grant's name and
   systemInformation).  A failure after the decision rolls the decision back with it.
4. **Deny** decides the grant the other way; the device's next poll is ``access_denied``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppRegistryService
from posfleet.deviceflow.access import ClientAccessService
from posfleet.deviceflow.repository import GrantRepository
from posfleet.devices.service import DeviceService
from posfleet.errors import BadRequest, Forbidden
from posfleet.kit import ratelimit
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import format_code, new_code, new_secret, normalize_code
from posfleet.models import (
    Device,
    DeviceFlowClient,
    DeviceGrant,
    Store,
    Tenant,
    TenantUser,
    Till,
)
from posfleet.models.enums import AccountType, GrantState, UserStatus
from posfleet.runtime import Runtime
from posfleet.tenants.stores import StoreService
from posfleet.users.service import UserService

DEVICE_CODE_LENGTH = 8
IDENTIFIER_PREFIX = "pfd_"
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Registration:
    device_code: str
    device_identifier: str
    expires_in: int
    interval: int
    verification_uri: str


@dataclass(frozen=True, slots=True)
class PendingGrant:
    """What a person deciding a grant is shown about the device that asks."""

    grant: DeviceGrant
    client: DeviceFlowClient
    device_code: str

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((self.grant.expires_at - now).total_seconds()))


class DeviceFlowService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.settings = runtime.settings
        self.repo = GrantRepository(session)
        self.apps = AppRegistryService(session)
        self.stores = StoreService(session)
        self.users = UserService(session)
        self.devices = DeviceService(session, runtime)
        self.access = ClientAccessService(session)

    @property
    def verification_uri(self) -> str:
        return self.settings.public_base_url.rstrip("/") + "/device"

    # Registering --------------------------------------------------------------------------

    async def register(
        self, client_id: str, name: str | None, system_information: str | None, address: str
    ) -> Registration:
        await self.runtime.limiter.hit(ratelimit.DEVICE_REGISTER, self.settings, address=address)
        client = await self.apps.find_device_flow_client(client_id)
        if client is None or not client.is_active:
            raise BadRequest(
                f"Client {client_id!r} is not a registered device-flow client",
                code="unknown_client",
            )
        await self.runtime.limiter.hit(
            ratelimit.DEVICE_REGISTER_CLIENT,
            self.settings,
            session=self.session,  # this unit of work has begun (SQLite has one writer)
            client=client.client_id,
        )
        now = utcnow()
        ttl = self.settings.device_flow_ttl_seconds
        interval = self.settings.device_flow_interval_seconds
        identifier = new_secret(IDENTIFIER_PREFIX)
        hasher = self.runtime.hasher
        _grant, code = await self.repo.draw(
            lambda: new_code(DEVICE_CODE_LENGTH),
            lambda code: DeviceGrant(
                client_id=client.id,
                device_code_hash=hasher.hash(code),
                identifier_hash=hasher.hash(identifier),
                secret_key_id=hasher.key_id,
                name=(name or "").strip()[:200],
                system_information=(system_information or "")[:MAX_TEXT],
                state=GrantState.PENDING,
                interval_seconds=interval,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            ),
        )
        return Registration(format_code(code), identifier, ttl, interval, self.verification_uri)

    # Finding a grant by its code -------------------------------------------------------------

    async def charge_attempt(self, tenant: Tenant, address: str) -> None:
        """One guess at a device code, charged to the address and to the tenant."""
        limiter, settings = self.runtime.limiter, self.settings
        await limiter.hit(ratelimit.DEVICE_CODE, settings, session=self.session, address=address)
        await limiter.hit(
            ratelimit.DEVICE_CODE_TENANT, settings, session=self.session, tenant=tenant.uid
        )

    async def pending(self, typed_code: str) -> PendingGrant:
        """The pending grant a typed code names, or 400 saying why there is none."""
        code = normalize_code(typed_code)
        grant = await self.repo.by_code_hash(self.runtime.hasher.hashes(code)) if code else None
        if grant is None:
            raise BadRequest(
                "No device is waiting for this code; check it on the device's screen",
                code="unknown_device_code",
            )
        if grant.state is GrantState.DENIED:
            raise BadRequest("This device code was denied", code="device_code_denied")
        if grant.state is not GrantState.PENDING:
            raise BadRequest(
                "This device code has already been used to authorize a device",
                code="device_code_used",
            )
        if grant.expires_at <= utcnow():
            raise BadRequest(
                "This device code has expired; the device must ask for a new one",
                code="device_code_expired",
            )
        client = await self.apps.device_flow_client_by_id(grant.client_id)
        if client is None or not client.is_active:
            raise BadRequest(
                "The device's client is no longer allowed to register devices",
                code="unknown_client",
            )
        return PendingGrant(grant, client, format_code(code))

    async def check_client(self, tenant: Tenant, found: PendingGrant) -> None:
        """Refuse a grant of a client the tenant does not allow (400 client_not_allowed)."""
        await self.access.check(tenant.id, found.client)

    async def places(self, tenant: Tenant, user: TenantUser) -> list[tuple[Store, list[Till]]]:
        """The stores the user may put a device in, each with its tills."""
        tills = await self.stores.list_tills(tenant.id)
        return [
            (store, [till for till in tills if till.store_id == store.id])
            for store in await self.stores.list_stores(tenant.id)
            if await self.users.has_store_access(user, store)
        ]

    # Deciding --------------------------------------------------------------------------------

    def _may_decide(self, user: TenantUser | None) -> TenantUser:
        if (
            user is None
            or user.status is not UserStatus.ACTIVE
            or user.account_type not in (AccountType.FULL, AccountType.INTEGRATION)
        ):
            raise Forbidden("Only an active FULL or INTEGRATION user may authorize a device")
        return user

    async def authorize(
        self,
        tenant: Tenant,
        user: TenantUser | None,
        typed_code: str,
        *,
        store_uid: str,
        till_uid: str | None,
        name: str | None,
        address: str,
    ) -> Device:
        """Approve the grant and create its device in ``store_uid`` (and ``till_uid``)."""
        user = self._may_decide(user)
        await self.charge_attempt(tenant, address)
        found = await self.pending(typed_code)
        await self.check_client(tenant, found)
        store = await self.stores.find_store(tenant.id, store_uid)
        if store is not None and not await self.users.has_store_access(user, store):
            raise Forbidden("The user has no access to this store")
        grant = found.grant
        # A savepoint: should placing the device fail, the decision is undone with it even
        # when the caller (the verification page) answers normally and its unit of work commits.
        async with self.session.begin_nested():
            if not await self.repo.approve(
                grant.id, utcnow(), tenant_id=tenant.id, decided_by=user.user_code
            ):
                raise BadRequest(
                    "This device code has already been used to authorize a device",
                    code="device_code_used",
                )
            device, _link_code = await self.devices.create(
                tenant.id,
                name=(name or "").strip() or grant.name or found.client.name,
                app_code=found.client.app_code,
                actor=user.user_code,
                store_uid=store_uid,
                till_uid=till_uid or None,
            )
            await self.devices.activate(
                device,
                user.user_code,
                how="device authorization",
                user_uid=user.uid,
                system_information=grant.system_information or None,
            )
            await self.session.flush()
            await self.repo.bind_device(grant.id, device.id, device.credential_generation)
        return device

    async def deny(
        self, tenant: Tenant, user: TenantUser | None, typed_code: str, address: str
    ) -> None:
        user = self._may_decide(user)
        await self.charge_attempt(tenant, address)
        found = await self.pending(typed_code)
        if not await self.repo.deny(
            found.grant.id, utcnow(), tenant_id=tenant.id, decided_by=user.user_code
        ):
            raise BadRequest("This device code has already been decided", code="device_code_used")
