"""Queries about devices and the rows a device refers to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.single_use import SingleUse
from posfleet.models import (
    AuditEvent,
    Device,
    DevicePrinter,
    DeviceRefreshToken,
    DeviceSettingDefinition,
    DeviceSettingValue,
    LinkCode,
    Printer,
    Store,
    Till,
)

LINK_CODES = SingleUse(LinkCode)
_AUDIT = insert(cast(Table, AuditEvent.__table__))
# Built once (see kit/single_use.py): a device's live refresh tokens end.
_REVOKE_REFRESH_TOKENS = (
    update(DeviceRefreshToken)
    .where(
        DeviceRefreshToken.device_id == bindparam("device"),
        DeviceRefreshToken.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: int, uid: str) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.tenant_id == tenant_id, Device.uid == uid)
        )

    async def by_ids(self, device_ids: Sequence[int]) -> dict[int, Device]:
        """The devices of ``device_ids`` by id (those that exist)."""
        found = await self.session.scalars(select(Device).where(Device.id.in_(device_ids)))
        return {d.id: d for d in found}

    async def get_by_id(self, device_id: int) -> Device | None:
        return await self.session.get(Device, device_id)

    async def uid_taken(self, tenant_id: int, uid: str) -> bool:
        found = await self.session.scalar(
            select(Device.id).where(Device.tenant_id == tenant_id, Device.uid == uid)
        )
        return found is not None

    async def identifier_taken(self, identifier: str) -> bool:
        found = await self.session.scalar(select(Device.id).where(Device.identifier == identifier))
        return found is not None

    async def device_on_till(self, till_id: int) -> Device | None:
        return await self.session.scalar(select(Device).where(Device.till_id == till_id))

    async def device_printers(self, device_id: int) -> list[Printer]:
        rows = await self.session.scalars(
            select(Printer)
            .join(DevicePrinter, DevicePrinter.printer_id == Printer.id)
            .where(DevicePrinter.device_id == device_id)
            .order_by(Printer.name, Printer.id)
        )
        return list(rows)

    async def set_printers(self, device_id: int, printers: Sequence[Printer]) -> None:
        await self.session.execute(
            delete(DevicePrinter).where(DevicePrinter.device_id == device_id)
        )
        self.session.add_all(DevicePrinter(device_id=device_id, printer_id=p.id) for p in printers)
        await self.session.flush()

    async def setting_definitions(self, tenant_id: int) -> list[DeviceSettingDefinition]:
        rows = await self.session.scalars(
            select(DeviceSettingDefinition)
            .where(DeviceSettingDefinition.tenant_id == tenant_id)
            .order_by(DeviceSettingDefinition.key)
        )
        return list(rows)

    async def setting_values(self, device_id: int) -> dict[int, str]:
        rows = await self.session.execute(
            select(DeviceSettingValue.definition_id, DeviceSettingValue.value).where(
                DeviceSettingValue.device_id == device_id
            )
        )
        return dict(rows.all())

    async def set_setting_values(self, device_id: int, values: dict[int, str]) -> None:
        await self.session.execute(
            delete(DeviceSettingValue).where(DeviceSettingValue.device_id == device_id)
        )
        self.session.add_all(
            DeviceSettingValue(device_id=device_id, definition_id=d, value=v)
            for d, v in values.items()
        )
        await self.session.flush()

    async def draw_link_code(
        self,
        device: Device,
        new_code: Callable[[], str],
        hash_code: Callable[[str], str],
        secret_key_id: str,
    ) -> str:
        """A new live link code for the device, unique among live codes; the code in clear."""
        _row, code = await LINK_CODES.draw(
            self.session,
            new_code,
            lambda code: LinkCode(
                tenant_id=device.tenant_id,
                device_id=device.id,
                code_hash=hash_code(code),
                secret_key_id=secret_key_id,
            ),
        )
        return code

    async def revoke_link_codes(self, device_id: int, now: datetime) -> None:
        """Every live link code of the device stops working."""
        await LINK_CODES.revoke(self.session, now, device_id=device_id)

    async def revoke_refresh_tokens(self, device_id: int, now: datetime) -> None:
        await self.session.execute(_REVOKE_REFRESH_TOKENS, {"device": device_id, "now": now})

    async def delete(self, device: Device) -> None:
        await self.session.delete(device)
        await self.session.flush()

    async def audit(
        self, tenant_id: int, device_uid: str, actor: str, action: str, **detail: object
    ) -> None:
        """The audit entry, written at once by a statement built once (nothing reads it back in
        the unit of work that makes it, so no ORM object is made for it)."""
        await self.session.execute(
            _AUDIT,
            {
                "tenant_id": tenant_id,
                "device_uid": device_uid,
                "actor": actor,
                "action": action,
                "detail": detail,
            },
        )

    async def audit_trail(
        self, tenant_id: int, device_uid: str, limit: int = 100
    ) -> list[AuditEvent]:
        rows = await self.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.device_uid == device_uid)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def overview(
        self, tenant_id: int, store_id: int | None = None
    ) -> Sequence[tuple[Device, str | None, int | None]]:
        """The tenant's devices with their store's name and till's number, for listings."""
        query = (
            select(Device, Store.name, Till.number)
            .outerjoin(Store, Store.id == Device.store_id)
            .outerjoin(Till, Till.id == Device.till_id)
            .where(Device.tenant_id == tenant_id)
        )
        if store_id is not None:
            query = query.where(Device.store_id == store_id)
        result = await self.session.execute(query.order_by(Store.name, Till.number, Device.name))
        return [(device, store, till) for device, store, till in result.all()]

    async def claim(self, device: Device, user_id: int, now: datetime) -> bool:
        """Claim ``device`` for the user unless someone else holds it (one statement, no race)."""
        result = await self.session.execute(
            update(Device)
            .where(
                Device.id == device.id,
                or_(Device.claimed_by_user_id.is_(None), Device.claimed_by_user_id == user_id),
            )
            .values(claimed_by_user_id=user_id, claimed_at=now, last_activity_at=now)
            .execution_options(synchronize_session=False)
        )
        claimed = affected_rows(result) == 1
        if claimed:
            # One device per user: claiming this one lets go of any other.
            await self.session.execute(
                update(Device)
                .where(
                    Device.tenant_id == device.tenant_id,
                    Device.claimed_by_user_id == user_id,
                    Device.id != device.id,
                )
                .values(claimed_by_user_id=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
        await self.session.refresh(device)
        return claimed

    async def unclaim(self, device: Device, user_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(Device)
            .where(Device.id == device.id, Device.claimed_by_user_id == user_id)
            .values(claimed_by_user_id=None, claimed_at=None, last_activity_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.refresh(device)
        return affected_rows(result) == 1
