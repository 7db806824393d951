"""A tenant ready for the device flow: the device-side world, a device-flow client and the
bearer token of a FULL user who may authorize devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.kit.clock import utcnow
from posfleet.models import DeviceFlowClient, DeviceGrant
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests.conftest import unique
from tests.flow.device.support import World, bearer, world


@dataclass
class FlowWorld:
    w: World
    client: DeviceFlowClient
    auth: dict[str, str]


async def flow_world(session: AsyncSession, runtime: Runtime) -> FlowWorld:
    w = await world(session, runtime)
    w.full_user.permissions = ["TENANT.ADMIN"]  # to see the device in the admin lists too
    client = await AppRegistryService(session).create_device_flow_client(
        unique("pos"), AppFields(name="Legacy POS")
    )
    token, _ = TokenService(session, runtime).auth_token(w.full_user, w.tenant)
    await session.commit()
    return FlowWorld(w, client, bearer(token))


async def register(http: httpx.AsyncClient, fw: FlowWorld, **overrides: Any) -> dict[str, Any]:
    body = {
        "clientId": fw.client.client_id,
        "name": "Back room tablet",
        "systemInformation": "Linux pos-7 6.1.0 aarch64",
        **overrides,
    }
    response = await http.post("/v2/device", json=body)
    assert response.status_code == 200, response.text
    registered: dict[str, Any] = response.json()
    return registered


def authorize_body(fw: FlowWorld, code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "deviceCode": code,
        "tenantUid": fw.w.tenant.uid,
        "storeUid": fw.w.store.uid,
        **overrides,
    }


async def authorize(
    http: httpx.AsyncClient, fw: FlowWorld, code: str, **overrides: Any
) -> httpx.Response:
    return await http.post(
        "/v2/device/authorize", json=authorize_body(fw, code, **overrides), headers=fw.auth
    )


async def poll(http: httpx.AsyncClient, fw: FlowWorld, identifier: str) -> httpx.Response:
    return await http.post(
        "/v2/device/token",
        json={"clientId": fw.client.client_id, "deviceIdentifier": identifier},
    )


async def change_grant(runtime: Runtime, identifier: str, **values: Any) -> None:
    """Change the grant of ``identifier`` directly, as time would."""
    async with runtime.sessionmaker() as s:
        await s.execute(
            update(DeviceGrant)
            .where(DeviceGrant.identifier_hash == runtime.hasher.hash(identifier))
            .values(**values)
        )
        await s.commit()


async def wait_interval(runtime: Runtime, identifier: str, seconds: float) -> None:
    """As if ``seconds`` had passed since the grant's last poll."""
    await change_grant(runtime, identifier, last_polled_at=utcnow() - timedelta(seconds=seconds))
