"""The device flow's approvals reach the tenant's webhooks."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.models import OutboxEntry
from posfleet.runtime import Runtime
from tests.deviceflow.support import authorize, flow_world, register


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # Nothing is sent: the test reads what the approval queued.
    return make_settings(webhook_allow_private_addresses=True, outbox_worker=False)


async def test_an_approved_device_is_announced_as_device_authorized(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """An endpoint subscribed to device.authorized and device.linked gets one
    device.authorized event, naming the new active device, and no device.linked."""
    fw = await flow_world(session, runtime)
    hook = await client.post(
        f"/v2/tenants/{fw.w.tenant.uid}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["device.authorized", "device.linked"]},
        headers=fw.auth,
    )
    assert hook.status_code == 201, hook.text
    registered = await register(client, fw, name="Counter tablet")
    approved = await authorize(client, fw, registered["deviceCode"])
    assert approved.status_code == 200, approved.text
    async with runtime.sessionmaker() as s:
        entries = (
            await s.scalars(select(OutboxEntry).where(OutboxEntry.tenant_id == fw.w.tenant.id))
        ).all()
    assert [entry.event_type for entry in entries] == ["device.authorized"]
    data = entries[0].payload["data"]
    assert (data["name"], data["status"]) == ("Counter tablet", "ACTIVE")
