"""Queries of the device side: link codes by hash, spending and charging them, activity stamps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.single_use import SingleUse
from posfleet.models import Device, LinkCode
from posfleet.models.enums import CodeState

LINK_CODES = SingleUse(LinkCode)


class DeviceAccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def link_code(self, code_hash: str) -> LinkCode | None:
        """The code with this hash; a live one first, else the newest dead one."""
        live_first = case((LinkCode.state == CodeState.LIVE, 0), else_=1)
        return await self.session.scalar(
            select(LinkCode)
            .where(LinkCode.code_hash == code_hash)
            .order_by(live_first, LinkCode.id.desc())
            .limit(1)
        )

    async def spend_link_code(self, code_id: int, now: datetime) -> bool:
        """Spend a live code; False when another request spent (or anyone revoked) it first."""
        return await LINK_CODES.spend(self.session, code_id, now)

    async def charge_failed_link(self, code_id: int, max_failures: int, now: datetime) -> bool:
        """Count a failed attempt on a live code; True when this one locked it."""
        states = await LINK_CODES.charge(self.session, LinkCode.id == code_id, max_failures, now)
        return states == [CodeState.LOCKED]

    async def device(self, device_id: int) -> Device | None:
        return await self.session.get(Device, device_id)

    async def touch_activity(self, device_id: int, now: datetime, older_than: datetime) -> None:
        await self.session.execute(
            update(Device)
            .where(
                Device.id == device_id,
                or_(Device.last_activity_at.is_(None), Device.last_activity_at < older_than),
            )
            # Activity is not a modification: keep lastModifiedAt as it was (onupdate).
            .values(last_activity_at=now, last_modified_at=Device.last_modified_at)
            .execution_options(synchronize_session=False)
        )
