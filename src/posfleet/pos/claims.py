"""A signed-in POS user claims a device at their location to work on it, and lets it go.

A device is held by at most one user and a user holds at most one device; claiming another
device lets go of the first.  Claiming is one conditional UPDATE, so two users racing for a
device cannot both win.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.errors import BadRequest, NotFound
from posfleet.models import Device
from posfleet.models.enums import DeviceStatus
from posfleet.pos.repository import PosRepository
from posfleet.pos.service import PosPrincipal, PosService, PosUserView
from posfleet.runtime import Runtime
from posfleet.webhooks.events import device_data
from posfleet.webhooks.service import WebhookService


class ClaimService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = PosRepository(session)
        self.pos = PosService(session, runtime)
        self.devices = DeviceService(session, runtime)
        self.webhooks = WebhookService(session, runtime)

    async def _device(self, principal: PosPrincipal, device_uid: str) -> Device:
        device = await self.repository.device_at(
            principal.tenant.id, principal.store.id, device_uid
        )
        if device is None:
            raise NotFound("No such device at this location")
        return device

    async def claim(self, principal: PosPrincipal, device_uid: str) -> PosUserView:
        device = await self._device(principal, device_uid)
        if device.status is not DeviceStatus.ACTIVE:
            raise BadRequest(
                "The device is not active and cannot be claimed", code="device_unavailable"
            )
        if not await self.devices.claim(device, principal.user.id):
            raise BadRequest("The device is claimed by someone else", code="device_claimed")
        await self._publish("device.claimed", principal, device)
        return await self.pos.user_view(principal.user, principal.store)

    async def unclaim(self, principal: PosPrincipal, device_uid: str) -> PosUserView:
        device = await self._device(principal, device_uid)
        held_by = device.claimed_by_user_id
        if held_by is not None and held_by != principal.user.id:
            raise BadRequest(
                "The device is claimed by someone else", code="device_claimed_by_other"
            )
        if held_by is not None:
            await self.devices.release(device, principal.user.id)
            await self._publish("device.released", principal, device)
        return await self.pos.user_view(principal.user, principal.store)

    async def _publish(self, event_type: str, principal: PosPrincipal, device: Device) -> None:
        data = device_data(device, principal.user.user_code)
        data["userUid"] = principal.user.uid
        await self.webhooks.publish(principal.tenant.id, event_type, data)
