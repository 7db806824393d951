"""Every query about pairing codes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.keyring import hash_is_any
from posfleet.kit.single_use import SingleUse
from posfleet.models import Device, PairingCode
from posfleet.models.enums import CodeState

PAIRING_CODES = SingleUse(PairingCode)


class PairingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def draw(
        self, new_code: Callable[[], str], build: Callable[[str], PairingCode]
    ) -> tuple[PairingCode, str]:
        """A new live code unique among the tenant's live codes, and the code in clear."""
        return await PAIRING_CODES.draw(self.session, new_code, build)

    async def by_hash(self, tenant_id: int, code_hashes: Sequence[str]) -> PairingCode | None:
        """The code with one of these hashes (one per live server secret); a live one before
        older spent or revoked ones."""
        return await self.session.scalar(
            select(PairingCode)
            .where(
                PairingCode.tenant_id == tenant_id, hash_is_any(PairingCode.code_hash, code_hashes)
            )
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
        await PAIRING_CODES.revoke(self.session, now, device_id=device_id)

    async def spend(self, code_id: int, now: datetime) -> bool:
        return await PAIRING_CODES.spend(self.session, code_id, now)

    async def device(self, tenant_id: int, device_id: int) -> Device | None:
        return await self.session.scalar(
            select(Device).where(Device.tenant_id == tenant_id, Device.id == device_id)
        )
