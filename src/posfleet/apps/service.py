"""The registries shared by every tenant: POS app builds allowed to link devices (Flow's
``appId``, with the app code a device must have) and clients allowed to use the device
authorization flow (Flow's ``clientId``).  An inactive entry is refused where it is used."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.repository import AppRepository
from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.models import DeviceFlowClient, RegisteredApp
from posfleet.models.enums import AppCode
from posfleet.tenants.fields import Fields

_ID = re.compile(r"^\S+$")


class AppFields(Fields):
    name: str = Field(default="", max_length=200)
    app_code: AppCode = AppCode.CLIENT
    is_active: bool = True


class AppRegistryService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = AppRepository(session)

    # POS apps ----------------------------------------------------------------------------

    async def register_app(self, app_id: str, fields: AppFields) -> RegisteredApp:
        _check_id("appId", app_id)
        if await self.repository.registered_app(app_id) is not None:
            raise Conflict(f"App {app_id!r} is already registered")
        return await self.repository.add_app(
            RegisteredApp(
                app_id=app_id,
                name=fields.name or app_id,
                app_code=fields.app_code,
                is_active=fields.is_active,
            )
        )

    async def find_app(self, app_id: str) -> RegisteredApp | None:
        return await self.repository.registered_app(app_id)

    async def get_app(self, app_id: str) -> RegisteredApp:
        app = await self.repository.registered_app(app_id)
        if app is None:
            raise NotFound(f"No app {app_id!r}")
        return app

    async def list_apps(self) -> Sequence[RegisteredApp]:
        return await self.repository.registered_apps()

    async def update_app(self, app_id: str, changes: AppFields) -> RegisteredApp:
        app = await self.get_app(app_id)
        for name, value in changes.given().items():
            setattr(app, name, value)
        await self.repository.flush()
        return app

    # Device-flow clients -----------------------------------------------------------------

    async def create_device_flow_client(
        self, client_id: str, fields: AppFields
    ) -> DeviceFlowClient:
        _check_id("clientId", client_id)
        if await self.repository.device_flow_client(client_id) is not None:
            raise Conflict(f"Client {client_id!r} already exists")
        return await self.repository.add_client(
            DeviceFlowClient(
                client_id=client_id,
                name=fields.name or client_id,
                app_code=fields.app_code,
                is_active=fields.is_active,
            )
        )

    async def find_device_flow_client(self, client_id: str) -> DeviceFlowClient | None:
        return await self.repository.device_flow_client(client_id)

    async def device_flow_client_by_id(self, row_id: int) -> DeviceFlowClient | None:
        return await self.repository.device_flow_client_by_id(row_id)

    async def get_device_flow_client(self, client_id: str) -> DeviceFlowClient:
        client = await self.repository.device_flow_client(client_id)
        if client is None:
            raise NotFound(f"No device-flow client {client_id!r}")
        return client

    async def list_device_flow_clients(self) -> Sequence[DeviceFlowClient]:
        return await self.repository.device_flow_clients()

    async def update_device_flow_client(
        self, client_id: str, changes: AppFields
    ) -> DeviceFlowClient:
        client = await self.get_device_flow_client(client_id)
        for name, value in changes.given().items():
            setattr(client, name, value)
        await self.repository.flush()
        return client


def _check_id(field: str, value: str) -> None:
    if not value or len(value) > 100 or not _ID.match(value):
        raise ValidationFailed(
            f"{field} must be 1 to 100 characters without spaces",
            errors={field: "must be 1 to 100 characters without spaces"},
        )
