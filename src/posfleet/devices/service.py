"""The device lifecycle: the one place that says how a device is created, changed and retired.

::

     create ──► READY_TO_LINK ──link / pair──► ACTIVE ◄──► BLOCKED
        ▲                                        │            │
        └──────────── reset (new code) ──────────┴────────────┘
     delete from any state: gone, every credential of it dead.

Both dialects and the back office call these methods; none of them writes a device's status.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices import settings as device_settings
from posfleet.devices.repository import DeviceRepository
from posfleet.devices.search_repository import ListedDevice, ListedStore, ListedTill
from posfleet.errors import BadRequest, NotFound, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import new_code
from posfleet.models import AuditEvent, Device, Printer, Store, Till
from posfleet.models.base import UID_PATTERN, new_uid
from posfleet.models.enums import AppCode, DeviceStatus
from posfleet.pairing.codes import PairingCodes
from posfleet.runtime import Runtime
from posfleet.tenants.stores import StoreService
from posfleet.webhooks.events import DEVICE_ACTIONS, device_data
from posfleet.webhooks.service import WebhookService

_UID = re.compile(UID_PATTERN)
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


@dataclass(frozen=True, slots=True)
class DeviceChanges:
    """A partial update.  ``None`` leaves a field alone; ``""`` for store or till clears it."""

    name: str | None = None
    app_code: AppCode | None = None
    store_uid: str | None = None
    till_uid: str | None = None
    status: DeviceStatus | None = None
    settings: Sequence[tuple[str, str]] | None = None
    printer_uids: Sequence[str] | None = None

    def described(self) -> dict[str, object]:
        """What this update asked to change, for the audit trail (``settings`` by key)."""
        changed: dict[str, object] = {}
        for name in ("name", "app_code", "store_uid", "till_uid", "status", "printer_uids"):
            value = getattr(self, name)
            if value is not None:
                changed[name] = value if isinstance(value, str) else list(value)
        if self.settings is not None:
            changed["settings"] = sorted(key for key, _ in self.settings)
        return {"changed": changed} if changed else {}


@dataclass(frozen=True, slots=True)
class Hardware:
    """A device's vendor facts; ``None`` leaves a field alone, ``""`` clears it."""

    vendor: str | None = None
    model_number: str | None = None
    mac_address: str | None = None
    external_device_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceDetails:
    """A device with what it refers to, ready to be shown in either dialect."""

    device: Device
    store: Store | None
    till: Till | None
    printers: list[Printer]
    settings: list[device_settings.SettingView]


@dataclass(frozen=True, slots=True)
class ListedDetails:
    """A device of a list page: the columns a list shows, as :class:`DeviceDetails` shows them."""

    device: ListedDevice
    store: ListedStore | None
    till: ListedTill | None
    printers: list[Printer]
    settings: list[device_settings.SettingView]


class DeviceService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.repo = DeviceRepository(session)
        self.stores = StoreService(session)
        self.webhooks = WebhookService(session, runtime)

    # Reading

    async def get(self, tenant_id: int, device_uid: str) -> Device:
        device = await self.repo.get(tenant_id, device_uid)
        if device is None:
            raise NotFound(f"Device {device_uid} does not exist")
        return device

    async def find_by_id(self, device_id: int) -> Device | None:
        return await self.repo.get_by_id(device_id)

    async def details(self, device: Device) -> DeviceDetails:
        store, till = await self._current_placement(device)
        definitions = await self.repo.setting_definitions(device.tenant_id)
        values = await self.repo.setting_values(device.id)
        return DeviceDetails(
            device=device,
            store=store,
            till=till,
            printers=await self.repo.device_printers(device.id),
            settings=device_settings.views(definitions, values),
        )

    async def audit_trail(
        self, tenant_id: int, device_uid: str, limit: int = 100
    ) -> list[AuditEvent]:
        """What was done to the device, newest first; kept after the device is deleted."""
        return await self.repo.audit_trail(tenant_id, device_uid, limit)

    def is_online(self, device: Device) -> bool:
        """Whether the device was active within ``device_offline_after_seconds``."""
        if device.last_activity_at is None:
            return False
        offline_after = timedelta(seconds=self.runtime.settings.device_offline_after_seconds)
        return utcnow() - device.last_activity_at <= offline_after

    # Creating and changing

    async def create(
        self,
        tenant_id: int,
        *,
        name: str,
        app_code: AppCode,
        actor: str,
        device_uid: str | None = None,
        store_uid: str | None = None,
        till_uid: str | None = None,
        printer_uids: Sequence[str] | None = None,
        settings: Sequence[tuple[str, str]] | None = None,
    ) -> tuple[Device, str]:
        """A new READY_TO_LINK device and its one-time link code (shown once, kept hashed)."""
        if device_uid:
            if not _UID.fullmatch(device_uid):
                raise ValidationFailed(
                    "deviceUid may only hold letters, digits, - and _",
                    errors={"deviceUid": "does not match ^[A-Za-z0-9-_]+"},
                )
            if await self.repo.uid_taken(tenant_id, device_uid):
                raise BadRequest(f"A device with uid {device_uid} already exists", code="duplicate")
        name = _clean_name(name)
        store, till = await self._placement(tenant_id, store_uid or None, till_uid or None, None)
        printers = await self._printers(tenant_id, printer_uids or [])
        definitions = await self.repo.setting_definitions(tenant_id)
        values = device_settings.merge(definitions, {}, settings or [])
        now = utcnow()
        device = Device(
            tenant_id=tenant_id,
            uid=device_uid or new_uid(),
            name=name,
            app_code=app_code,
            status=DeviceStatus.READY_TO_LINK,
            store_id=store.id if store else None,
            till_id=till.id if till else None,
            identifier=new_uid(),
            created_by=actor,
            last_modified_by=actor,
            created_at=now,
            last_modified_at=now,
        )
        self.session.add(device)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise BadRequest(
                "The device could not be created: its uid or till is already taken",
                code="duplicate",
            ) from exc
        await self.repo.set_printers(device.id, printers)
        await self.repo.set_setting_values(device.id, values)
        code = await self._issue_link_code(device)
        await self._record(device, actor, "created", name=name)
        return device, code

    async def update(
        self, device: Device, changes: DeviceChanges, actor: str
    ) -> tuple[Device, str | None]:
        """Apply a partial update; returns the new link code when the device was reset."""
        tenant_id = device.tenant_id
        if changes.name is not None:
            device.name = _clean_name(changes.name)
        if changes.app_code is not None:
            device.app_code = changes.app_code
        if changes.store_uid is not None or changes.till_uid is not None:
            await self._replace_placement(device, changes.store_uid, changes.till_uid)
        if changes.printer_uids is not None:
            await self.repo.set_printers(
                device.id, await self._printers(tenant_id, changes.printer_uids)
            )
        if changes.settings is not None:
            definitions = await self.repo.setting_definitions(tenant_id)
            current_values = await self.repo.setting_values(device.id)
            values = device_settings.merge(definitions, current_values, changes.settings)
            await self.repo.set_setting_values(device.id, values)
        code: str | None = None
        if changes.status is not None and changes.status != device.status:
            code = await self._move(device, changes.status, actor)
        elif changes.status is DeviceStatus.READY_TO_LINK:
            code = await self.reset_link(device, actor)
        device.last_modified_by = actor
        device.last_modified_at = utcnow()
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise BadRequest(
                "The till is already bound to another device", code="till_taken"
            ) from exc
        await self._record(device, actor, "updated", **changes.described())
        return device, code

    # Lifecycle

    async def describe_hardware(self, device: Device, hardware: Hardware, actor: str) -> None:
        """Set the descriptive hardware facts given (``None`` leaves one alone); no lifecycle
        rule reads them, the Commerce Engine view and the back office show them."""
        errors: dict[str, str] = {}
        if hardware.mac_address and not _MAC.fullmatch(hardware.mac_address):
            errors["macAddress"] = "must look like 00:1A:2B:3C:4D:5E"
        for name in ("vendor", "model_number", "external_device_id"):
            value = getattr(hardware, name)
            if value is not None and len(value) > 100:
                errors[name] = "must be at most 100 characters"
        if errors:
            raise ValidationFailed(
                "Invalid hardware: " + "; ".join(f"{k} {v}" for k, v in errors.items()),
                errors=errors,
            )
        for name in ("vendor", "model_number", "external_device_id"):
            value = getattr(hardware, name)
            if value is not None:
                setattr(device, name, value)
        if hardware.mac_address is not None:
            device.mac_address = hardware.mac_address.upper() or None
        self._touch(device, actor)
        await self.session.flush()

    async def claim(self, device: Device, user_id: int) -> bool:
        """The user holds the device now, unless someone else does (one conditional UPDATE, so
        two users racing for it cannot both win); a user holds one device, so any other they
        held is let go."""
        return await self.repo.claim(device, user_id, utcnow())

    async def release(self, device: Device, user_id: int) -> bool:
        """The user lets go of the device, if they held it."""
        return await self.repo.unclaim(device, user_id, utcnow())

    async def block(self, device: Device, actor: str) -> None:
        """ACTIVE → BLOCKED: every token of the device is refused from its next request on."""
        if device.status is DeviceStatus.BLOCKED:
            return
        if device.status is not DeviceStatus.ACTIVE:
            raise BadRequest("Only an active device can be blocked", code="invalid_transition")
        device.status = DeviceStatus.BLOCKED
        self._touch(device, actor)
        await self._record(device, actor, "blocked")

    async def unblock(self, device: Device, actor: str) -> None:
        """BLOCKED → ACTIVE: the device's existing link works again."""
        if device.status is DeviceStatus.ACTIVE:
            return
        if device.status is not DeviceStatus.BLOCKED:
            raise BadRequest(
                "A device becomes active only by linking it with its link code",
                code="invalid_transition",
            )
        device.status = DeviceStatus.ACTIVE
        self._touch(device, actor)
        await self._record(device, actor, "unblocked")

    async def reset_link(self, device: Device, actor: str) -> str:
        """Any state → READY_TO_LINK with a new link code and identifier; every credential dies."""
        await self.revoke_credentials(device)
        device.status = DeviceStatus.READY_TO_LINK
        device.identifier = new_uid()
        device.claimed_by_user_id = None
        device.claimed_at = None
        self._touch(device, actor)
        await self.session.flush()
        code = await self._issue_link_code(device)
        await self._record(device, actor, "reset")
        return code

    async def activate(
        self,
        device: Device,
        actor: str,
        *,
        how: str,
        user_uid: str | None = None,
        system_information: str | None = None,
    ) -> None:
        """READY_TO_LINK → ACTIVE once a physical device proved it holds a code.

        The caller has already spent the code; this gives the device a new identifier, starts a
        new credential epoch and makes sure no other code of it stays live.
        """
        if device.status is not DeviceStatus.READY_TO_LINK:
            raise BadRequest("The device is not waiting to be linked", code="not_ready_to_link")
        await self.revoke_credentials(device)
        device.status = DeviceStatus.ACTIVE
        device.identifier = new_uid()
        if user_uid is not None:
            device.last_tenant_user_uid = user_uid
        if system_information is not None:
            device.system_information = system_information
        device.last_activity_at = utcnow()
        self._touch(device, actor)
        await self._record(device, actor, f"activated by {how}")

    async def delete(self, device: Device, actor: str) -> None:
        """Gone from any state; its credentials go with it (foreign keys cascade)."""
        await self.revoke_credentials(device)
        await self._record(device, actor, "deleted", name=device.name)
        await self.repo.delete(device)

    async def _record(self, device: Device, actor: str, action: str, **detail: object) -> None:
        """The audit entry of an action, and its webhook event, in the action's unit of work."""
        await self.repo.audit(device.tenant_id, device.uid, actor, action, **detail)
        event_type = DEVICE_ACTIONS.get(action)
        if event_type is not None:
            await self.webhooks.publish(
                device.tenant_id, event_type, device_data(device, actor) | detail
            )

    async def revoke_credentials(self, device: Device) -> None:
        """A new credential epoch: tokens of the old one fail on their next request."""
        now = utcnow()
        device.credential_generation += 1
        await self.repo.revoke_link_codes(device.id, now)
        await PairingCodes(self.session).revoke_of_device(device.id, now)
        await self.repo.revoke_refresh_tokens(device.id, now)

    # Helpers

    async def _move(self, device: Device, target: DeviceStatus, actor: str) -> str | None:
        if target is DeviceStatus.READY_TO_LINK:
            return await self.reset_link(device, actor)
        if target is DeviceStatus.BLOCKED:
            await self.block(device, actor)
        else:
            await self.unblock(device, actor)
        return None

    def _touch(self, device: Device, actor: str) -> None:
        device.last_modified_by = actor
        device.last_modified_at = utcnow()

    async def _issue_link_code(self, device: Device) -> str:
        length = self.runtime.settings.link_code_length
        return await self.repo.draw_link_code(
            device, lambda: new_code(length), self.runtime.hasher.hash, self.runtime.hasher.key_id
        )

    async def _current_placement(self, device: Device) -> tuple[Store | None, Till | None]:
        tenant_id = device.tenant_id
        store = (
            await self.stores.get_store_by_id(tenant_id, device.store_id)
            if device.store_id
            else None
        )
        till = (
            await self.stores.get_till_by_id(tenant_id, device.till_id) if device.till_id else None
        )
        return store, till

    async def _replace_placement(
        self, device: Device, store_uid: str | None, till_uid: str | None
    ) -> None:
        current_store, current_till = await self._current_placement(device)
        if store_uid is None:
            store_uid = current_store.uid if current_store else ""
        if till_uid is None:
            # Moving the device to another store unbinds it from the old store's till.
            stays = current_store is not None and current_store.uid == store_uid
            till_uid = current_till.uid if current_till and stays else ""
        store, till = await self._placement(
            device.tenant_id, store_uid or None, till_uid or None, device.id
        )
        device.store_id = store.id if store else None
        device.till_id = till.id if till else None

    async def _placement(
        self, tenant_id: int, store_uid: str | None, till_uid: str | None, device_id: int | None
    ) -> tuple[Store | None, Till | None]:
        store = None
        if store_uid:
            store = await self.stores.find_store(tenant_id, store_uid)
            if store is None:
                raise ValidationFailed(
                    f"Store {store_uid} does not exist", errors={"storeUid": "no such store"}
                )
        till = None
        if till_uid:
            till = await self.stores.find_till(tenant_id, till_uid)
            if till is None:
                raise ValidationFailed(
                    f"Till {till_uid} does not exist", errors={"tillUid": "no such till"}
                )
            if store is None:
                store = await self.stores.get_store_by_id(tenant_id, till.store_id)
            elif till.store_id != store.id:
                raise ValidationFailed(
                    f"Till {till_uid} does not belong to store {store.uid}",
                    errors={"tillUid": "belongs to another store"},
                )
            holder = await self.repo.device_on_till(till.id)
            if holder is not None and holder.id != device_id:
                raise ValidationFailed(
                    f"Till {till_uid} is already bound to device {holder.uid}",
                    errors={"tillUid": "is bound to another device"},
                )
        return store, till

    async def _printers(self, tenant_id: int, uids: Sequence[str]) -> list[Printer]:
        try:
            return await self.stores.get_printers(tenant_id, uids)
        except NotFound as exc:
            raise ValidationFailed(exc.message, errors={"printerUids": exc.message}) from exc


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed("A device needs a name", errors={"name": "must not be empty"})
    if len(name) > 200:
        raise ValidationFailed("The name is too long", errors={"name": "at most 200 characters"})
    return name
