"""Every query about device authorization grants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.keyring import hash_is_any
from posfleet.kit.single_use import SingleUse
from posfleet.models import DeviceGrant
from posfleet.models.enums import GrantState

# A grant is "live" while PENDING; approving spends it, denying spends it the other way.
GRANTS = SingleUse(
    DeviceGrant,
    live=GrantState.PENDING,
    spent=GrantState.APPROVED,
    revoked=GrantState.DENIED,
    stamp="decided_at",
)


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def draw(
        self, new_code: Callable[[], str], build: Callable[[str], DeviceGrant]
    ) -> tuple[DeviceGrant, str]:
        """A new grant whose device code no other pending grant has, and the code in clear."""
        return await GRANTS.draw(self.session, new_code, build)

    async def by_code_hash(self, code_hashes: Sequence[str]) -> DeviceGrant | None:
        """The grant with this code (its hash under any live server secret); a pending one
        before older decided ones."""
        return await self.session.scalar(
            select(DeviceGrant)
            .where(hash_is_any(DeviceGrant.device_code_hash, code_hashes))
            .order_by(
                case((DeviceGrant.state == GrantState.PENDING, 0), else_=1),
                DeviceGrant.id.desc(),
            )
            .limit(1)
            .execution_options(populate_existing=True)
        )

    async def by_identifier_hash(self, identifier_hashes: Sequence[str]) -> DeviceGrant | None:
        return await self.session.scalar(
            select(DeviceGrant)
            .where(hash_is_any(DeviceGrant.identifier_hash, identifier_hashes))
            .order_by(DeviceGrant.id.desc())  # one per listed secret at most: the newest
            .limit(1)
            .execution_options(populate_existing=True)
        )

    async def approve(
        self, grant_id: int, now: datetime, *, tenant_id: int, decided_by: str
    ) -> bool:
        """PENDING → APPROVED; False when another decision came first."""
        return await GRANTS.spend(
            self.session, grant_id, now, tenant_id=tenant_id, decided_by=decided_by
        )

    async def deny(self, grant_id: int, now: datetime, *, tenant_id: int, decided_by: str) -> bool:
        """PENDING → DENIED; False when another decision came first."""
        return await GRANTS.spend(
            self.session,
            grant_id,
            now,
            to=GrantState.DENIED,
            tenant_id=tenant_id,
            decided_by=decided_by,
        )

    async def bind_device(self, grant_id: int, device_id: int, generation: int) -> None:
        await self.session.execute(
            update(DeviceGrant)
            .where(DeviceGrant.id == grant_id)
            .values(device_id=device_id, device_generation=generation)
            .execution_options(synchronize_session=False)
        )

    async def take_poll_slot(self, grant_id: int, seen: datetime | None, now: datetime) -> bool:
        """Stamp this poll unless another poll stamped the grant since ``seen`` was read: of
        concurrent polls in one interval exactly one is answered."""
        seen_clause = (
            DeviceGrant.last_polled_at.is_(None)
            if seen is None
            else DeviceGrant.last_polled_at == seen
        )
        result = await self.session.execute(
            update(DeviceGrant)
            .where(DeviceGrant.id == grant_id, seen_clause)
            .values(last_polled_at=now)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result) == 1

    async def slow_down(self, grant_id: int, seen_interval: int, step: int, now: datetime) -> None:
        """Raise the interval by ``step`` once per interval the device was told (concurrent
        too-early polls that all saw one interval raise it once), and restart it from now."""
        await self.session.execute(
            update(DeviceGrant)
            .where(DeviceGrant.id == grant_id, DeviceGrant.interval_seconds == seen_interval)
            .values(interval_seconds=seen_interval + step, last_polled_at=now)
            .execution_options(synchronize_session=False)
        )

    async def redeem(self, grant_id: int, now: datetime) -> None:
        """APPROVED → REDEEMED at the first token the device collects."""
        await self.session.execute(
            update(DeviceGrant)
            .where(DeviceGrant.id == grant_id, DeviceGrant.state == GrantState.APPROVED)
            .values(state=GrantState.REDEEMED, redeemed_at=now)
            .execution_options(synchronize_session=False)
        )
