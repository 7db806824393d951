"""Every query about pairing codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.models import Device, PairingCode
from posfleet.models.enums import CodeState


class PairingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, code: PairingCode) -> PairingCode:
        """Insert in a savepoint: a hash that collides with a live code raises and rolls back
        only this insert, so the caller can draw again."""
        async with self.session.begin_nested():
            self.session.add(code)
            await self.session.flush()
        return code

    async def by_hash(self, tenant_id: int, code_hash: str) -> PairingCode | None:
        """The code with this hash; a live one before older spent or revoked ones."""
        return await self.session.scalar(
            select(PairingCode)
            .where(PairingCode.tenant_id == tenant_id, PairingCode.code_hash == code_hash)
            .order_by(
                case((PairingCode.state == CodeState.LIVE, 0), else_=1),
                PairingCode.created_at.desc(),
            )
            .limit(1)
        )

    async def latest_of_device(self, device_id: int) -> PairingCode | None:
        return await self.session.scalar(
            select(PairingCode)
            .where(PairingCode.device_id == device_id)
            .order_by(PairingCode.created_at.desc(), PairingCode.id.desc())
            .limit(1)
        )

    async def revoke_live_of_device(self, device_id: int, now: datetime) -> None:
        await self.session.execute(
            update(PairingCode)
            .where(PairingCode.device_id == device_id, PairingCode.state == CodeState.LIVE)
            .values(state=CodeState.REVOKED, spent_at=now)
        )

    async def spend(self, code_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(PairingCode)
            .where(PairingCode.id == code_id, PairingCode.state == CodeState.LIVE)
            .values(state=CodeState.SPENT, spent_at=now)
        )
        return affected_rows(result) == 1

    async def charge_tenant(self, tenant_id: int, max_failures: int, now: datetime) -> None:
        """A wrong code names no code, so it is charged to every live code of the tenant."""
        await self.session.execute(
            update(PairingCode)
            .where(PairingCode.tenant_id == tenant_id, PairingCode.state == CodeState.LIVE)
            .values(failed_attempts=PairingCode.failed_attempts + 1)
        )
        await self.session.execute(
            update(PairingCode)
            .where(
                PairingCode.tenant_id == tenant_id,
                PairingCode.state == CodeState.LIVE,
                PairingCode.failed_attempts >= max_failures,
            )
            .values(state=CodeState.LOCKED, spent_at=now)
        )

    async def device(self, tenant_id: int, device_id: int) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.tenant_id == tenant_id, Device.id == device_id)
        )
