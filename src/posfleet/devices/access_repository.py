"""Queries of the device side: link codes by hash, spending and charging them, activity stamps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.single_use import SingleUse
from posfleet.models import Device, LinkCode, Tenant
from posfleet.models.enums import CodeState

LINK_CODES = SingleUse(LinkCode)
# Built once, as the statements of kit/single_use.py: the hashes are its one parameter.
_LINK_CODE = (
    select(LinkCode, Device, Tenant)
    .join(Device, (Device.id == LinkCode.device_id) & (Device.tenant_id == LinkCode.tenant_id))
    .join(Tenant, Tenant.id == Device.tenant_id)
    .where(LinkCode.code_hash.in_(bindparam("hashes", expanding=True)))
    .order_by(case((LinkCode.state == CodeState.LIVE, 0), else_=1), LinkCode.id.desc())
    .limit(1)
)


class DeviceAccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def link_code(self, code_hashes: Sequence[str]) -> tuple[LinkCode, Device, Tenant] | None:
        """The code with one of these hashes (one per live server secret), a live one first,
        else the newest dead one; with its device and the device's tenant, read with it."""
        found = await self.session.execute(_LINK_CODE, {"hashes": list(code_hashes)})
        row = found.first()
        return None if row is None else (row[0], row[1], row[2])

    async def spend_link_code(self, code_id: int, now: datetime) -> bool:
        """Spend a live code; False when another request spent (or anyone revoked) it first."""
        return await LINK_CODES.spend(self.session, code_id, now)

    async def charge_failed_link(self, code_id: int, max_failures: int, now: datetime) -> bool:
        """Count a failed attempt on a live code; True when this one locked it."""
        states = await LINK_CODES.charge(self.session, LinkCode.id == code_id, max_failures, now)
        return states == [CodeState.LOCKED]

    async def touch_activities(self, seen: dict[int, datetime], interval: timedelta) -> None:
        """Stamp each device's last activity, unless one stamped within ``interval`` already."""
        devices = cast(Table, Device.__table__)
        statement = (
            update(devices)
            .where(
                devices.c.id == bindparam("device_id"),
                or_(
                    devices.c.last_activity_at.is_(None),
                    devices.c.last_activity_at < bindparam("older_than"),
                ),
            )
            # Activity is not a modification: keep lastModifiedAt as it was (onupdate).
            .values(last_activity_at=bindparam("seen"), last_modified_at=devices.c.last_modified_at)
        )
        rows = [
            {"device_id": device_id, "seen": at, "older_than": at - interval}
            for device_id, at in seen.items()
        ]
        connection = await self.session.connection()
        await connection.execute(statement, rows)
