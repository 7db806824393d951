"""What a POS client sees: devices at a location with their POS status, users with their roles.

The Commerce Engine dialect translates these views to its wire shapes; the rules (when a device
is ``offline``, which location a user is shown at) live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import NotFound
from posfleet.kit.clock import utcnow
from posfleet.models import Device, PosSession, Store, Tenant, TenantUser
from posfleet.models.enums import DeviceStatus
from posfleet.pos.repository import PosRepository
from posfleet.runtime import Runtime
from posfleet.tenants.stores import StoreService
from posfleet.users.service import StoreRole, UserService


class PosDeviceStatus(StrEnum):
    AVAILABLE = "available"
    CLAIMED = "claimed"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class PosDeviceView:
    device: Device
    store: Store | None
    claimed_by: TenantUser | None
    status: PosDeviceStatus


@dataclass(frozen=True, slots=True)
class PosUserView:
    user: TenantUser
    location: Store
    device: Device | None
    roles: list[StoreRole]


@dataclass(frozen=True, slots=True)
class PosPrincipal:
    """A POS user signed in at a location, by a live session."""

    tenant: Tenant
    user: TenantUser
    store: Store
    session: PosSession


def device_status(device: Device, now: datetime, offline_after: timedelta) -> PosDeviceStatus:
    """``claimed`` while claimed; ``offline`` when blocked, not active or unseen too long."""
    if device.claimed_by_user_id is not None:
        return PosDeviceStatus.CLAIMED
    if device.status is not DeviceStatus.ACTIVE:
        return PosDeviceStatus.OFFLINE
    if device.last_activity_at is None or now - device.last_activity_at > offline_after:
        return PosDeviceStatus.OFFLINE
    return PosDeviceStatus.AVAILABLE


class PosService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = PosRepository(session)
        self.stores = StoreService(session)
        self.users = UserService(session)
        self.offline_after = timedelta(seconds=runtime.settings.device_offline_after_seconds)

    async def device_views(
        self, tenant: Tenant | int, devices: Sequence[Device]
    ) -> list[PosDeviceView]:
        tenant_id = tenant if isinstance(tenant, int) else tenant.id
        claimers = await self.repository.users_by_ids(
            tenant_id, sorted({d.claimed_by_user_id for d in devices if d.claimed_by_user_id})
        )
        stores: dict[int, Store] = {}
        now = utcnow()
        views = []
        for device in devices:
            store = None
            if device.store_id is not None:
                if device.store_id not in stores:
                    stores[device.store_id] = await self.stores.get_store_by_id(
                        tenant_id, device.store_id
                    )
                store = stores[device.store_id]
            claimer = claimers.get(device.claimed_by_user_id or 0)
            views.append(
                PosDeviceView(
                    device, store, claimer, device_status(device, now, self.offline_after)
                )
            )
        return views

    async def device_view(self, tenant: Tenant | int, device: Device) -> PosDeviceView:
        return (await self.device_views(tenant, [device]))[0]

    async def devices_at_location(self, principal: PosPrincipal) -> list[PosDeviceView]:
        devices = await self.repository.devices_at(principal.tenant.id, principal.store.id)
        return await self.device_views(principal.tenant, devices)

    async def user_view(self, user: TenantUser, location: Store | None) -> PosUserView:
        """The user as a POS shows them: at ``location`` if they work there, else their first."""
        roles = await self.users.store_roles(user)
        here = [r.store for r in roles if location is not None and r.store.id == location.id]
        shown = here[0] if here else (roles[0].store if roles else location)
        if shown is None:
            raise NotFound("The user has no location")
        device = await self.repository.device_claimed_by(user.tenant_id, user.id)
        return PosUserView(user, shown, device, roles)

    async def user_for(self, principal: PosPrincipal, user_uid: str) -> PosUserView:
        """A user of the caller's tenant (404 for anyone else)."""
        user = await self.users.find_by_uid(principal.tenant, user_uid)
        if user is None:
            raise NotFound("No such user")
        return await self.user_view(user, principal.store)

    async def locations(self, tenant: Tenant) -> Sequence[Store]:
        return await self.stores.list_stores(tenant.id)
