"""GET /pos/devices, claim and unclaim, GET /pos/locations, GET /pos/users/{id}."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.models import Device
from posfleet.models.enums import DeviceStatus
from posfleet.runtime import Runtime
from tests import factories
from tests.commerce.conftest import World, bearer, make_world, sign_in
from tests.commerce.receivers import SmtpReceiver


async def activate(session: AsyncSession, device: Device, *, seen_ago: timedelta) -> None:
    await session.execute(
        update(Device)
        .where(Device.id == device.id)
        .values(status=DeviceStatus.ACTIVE, last_activity_at=utcnow() - seen_ago)
    )
    await session.commit()


async def test_devices_lists_the_location_with_each_pos_status(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, session: AsyncSession
) -> None:
    await activate(session, world.device, seen_ago=timedelta(seconds=5))
    stale = await factories.device(session, world.tenant, store=world.store, name="Back office")
    blocked = await factories.device(
        session, world.tenant, store=world.store, name="Blocked one", status=DeviceStatus.BLOCKED
    )
    unseen = await factories.device(session, world.tenant, store=world.store, name="Cold")
    elsewhere = await factories.device(session, world.tenant, store=world.other_store)
    await session.commit()
    await activate(session, unseen, seen_ago=timedelta(hours=2))
    signed_in = await sign_in(client, world, smtp)

    response = await client.get(
        f"{world.base}/pos/devices", headers=bearer(signed_in["access_token"])
    )

    assert response.status_code == 200
    listed = {d["id"]: d["status"] for d in response.json()["content"]["devices"]}
    assert listed == {
        world.device.uid: "available",
        stale.uid: "offline",  # never activated
        blocked.uid: "offline",
        unseen.uid: "offline",
    }
    assert elsewhere.uid not in listed


async def test_claim_then_unclaim_shows_the_device_on_the_user(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, session: AsyncSession
) -> None:
    await activate(session, world.device, seen_ago=timedelta(seconds=5))
    token = (await sign_in(client, world, smtp))["access_token"]

    claimed = await client.post(
        f"{world.base}/pos/devices/{world.device.uid}/claim", headers=bearer(token)
    )

    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["content"]["user"]["device"] == {
        "id": world.device.uid,
        "name": "Front till",
    }
    listed = (await client.get(f"{world.base}/pos/devices", headers=bearer(token))).json()
    device = listed["content"]["devices"][0]
    assert device["status"] == "claimed"
    assert device["claimed_by"] == {
        "id": world.cashier.uid,
        "first_name": "Kari",
        "last_name": "Nordmann",
        "phone": f"+47{world.cashier.mobile}",
        "email": world.cashier.email,
    }

    released = await client.post(
        f"{world.base}/pos/devices/{world.device.uid}/unclaim", headers=bearer(token)
    )

    assert released.status_code == 200
    assert released.json()["content"]["user"]["device"] is None
    listed = (await client.get(f"{world.base}/pos/devices", headers=bearer(token))).json()
    assert listed["content"]["devices"][0]["status"] == "available"


async def test_a_device_claimed_by_someone_else_cannot_be_claimed_or_released(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, session: AsyncSession
) -> None:
    await activate(session, world.device, seen_ago=timedelta(seconds=5))
    mine = (await sign_in(client, world, smtp))["access_token"]
    theirs = (await sign_in(client, world, smtp, world.colleague))["access_token"]
    url = f"{world.base}/pos/devices/{world.device.uid}"
    assert (await client.post(f"{url}/claim", headers=bearer(mine))).status_code == 200

    taken = await client.post(f"{url}/claim", headers=bearer(theirs))
    assert taken.status_code == 400
    assert taken.json()["code"] == "device_claimed"
    release = await client.post(f"{url}/unclaim", headers=bearer(theirs))
    assert release.status_code == 400
    assert release.json()["code"] == "device_claimed_by_other"


async def test_claiming_an_inactive_device_is_refused(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    token = (await sign_in(client, world, smtp))["access_token"]
    response = await client.post(
        f"{world.base}/pos/devices/{world.device.uid}/claim", headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "device_unavailable"


async def test_unknown_and_foreign_devices_are_404(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        other = await make_world(session, runtime)
    token = (await sign_in(client, world, smtp))["access_token"]
    for device_id in ("no-such-device", other.device.uid):
        for action in ("claim", "unclaim"):
            response = await client.post(
                f"{world.base}/pos/devices/{device_id}/{action}", headers=bearer(token)
            )
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"


async def test_locations_answer_to_an_api_key_or_a_bearer(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver
) -> None:
    by_key = await client.get(f"{world.base}/pos/locations", headers=world.key_headers)
    assert by_key.status_code == 200
    locations = by_key.json()["content"]["locations"]
    assert {loc["id"]: loc["name"] for loc in locations} == {
        world.store.uid: "Main Street",
        world.other_store.uid: "Harbour",
    }
    assert all(loc["warehouse_type"] == "retail-store" for loc in locations)
    token = (await sign_in(client, world, smtp))["access_token"]
    by_bearer = await client.get(f"{world.base}/pos/locations", headers=bearer(token))
    assert by_bearer.json()["content"]["locations"] == locations
    assert (await client.get(f"{world.base}/pos/locations")).status_code == 401


async def test_users_of_the_own_tenant_only(
    client: httpx.AsyncClient, world: World, smtp: SmtpReceiver, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        other = await make_world(session, runtime)
    token = (await sign_in(client, world, smtp))["access_token"]
    colleague = await client.get(
        f"{world.base}/pos/users/{world.colleague.uid}", headers=bearer(token)
    )
    assert colleague.status_code == 200
    assert colleague.json()["content"]["user"]["first_name"] == "Ola"
    foreign = await client.get(f"{world.base}/pos/users/{other.cashier.uid}", headers=bearer(token))
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "not_found"
