"""Every query about deliveries and the development outbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import Delivery, Device, OutboxMessage


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, delivery: Delivery) -> Delivery:
        self.session.add(delivery)
        await self.session.flush()
        return delivery

    async def flush(self) -> None:
        await self.session.flush()

    async def get_by_id(self, delivery_id: int) -> Delivery | None:
        return await self.session.get(Delivery, delivery_id)

    async def device_uid(self, device_id: int) -> str:
        return await self.session.scalar(select(Device.uid).where(Device.id == device_id)) or ""

    async def get_by_uid(self, uid: str, tenant_id: int | None = None) -> Delivery | None:
        query = select(Delivery).where(Delivery.uid == uid)
        if tenant_id is not None:
            query = query.where(Delivery.tenant_id == tenant_id)
        return await self.session.scalar(query)

    async def of_device(
        self, tenant_id: int, device_id: int, limit: int = 50
    ) -> Sequence[Delivery]:
        result = await self.session.scalars(
            select(Delivery)
            .where(Delivery.tenant_id == tenant_id, Delivery.device_id == device_id)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
        return result.all()

    async def add_outbox(self, message: OutboxMessage) -> None:
        self.session.add(message)
        await self.session.flush()

    async def outbox_of(self, delivery_id: int) -> Sequence[OutboxMessage]:
        result = await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.delivery_id == delivery_id)
            .order_by(OutboxMessage.id)
        )
        return result.all()
