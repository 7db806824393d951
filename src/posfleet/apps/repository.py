"""Every query about the registries shared by all tenants: POS apps and device-flow clients."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import DeviceFlowClient, RegisteredApp

# Built once: every link asks for its app (kit/single_use.py says why).
_REGISTERED_APP = select(RegisteredApp).where(RegisteredApp.app_id == bindparam("app_id"))


class AppRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_app(self, app: RegisteredApp) -> RegisteredApp:
        self.session.add(app)
        await self.session.flush()
        return app

    async def add_client(self, client: DeviceFlowClient) -> DeviceFlowClient:
        self.session.add(client)
        await self.session.flush()
        return client

    async def flush(self) -> None:
        await self.session.flush()

    async def registered_app(self, app_id: str) -> RegisteredApp | None:
        return await self.session.scalar(_REGISTERED_APP, {"app_id": app_id})

    async def registered_apps(self) -> Sequence[RegisteredApp]:
        return (
            await self.session.scalars(select(RegisteredApp).order_by(RegisteredApp.app_id))
        ).all()

    async def device_flow_client(self, client_id: str) -> DeviceFlowClient | None:
        return await self.session.scalar(
            select(DeviceFlowClient).where(DeviceFlowClient.client_id == client_id)
        )

    async def device_flow_client_by_id(self, row_id: int) -> DeviceFlowClient | None:
        return await self.session.get(DeviceFlowClient, row_id)

    async def device_flow_clients(self) -> Sequence[DeviceFlowClient]:
        return (
            await self.session.scalars(
                select(DeviceFlowClient).order_by(DeviceFlowClient.client_id)
            )
        ).all()
