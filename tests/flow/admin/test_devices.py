"""The six tenant-admin device operations over HTTP: happy paths and each documented failure."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.errors import Unauthorized
from posfleet.kit.codes import CODE_ALPHABET
from posfleet.kit.jwt import TokenType
from posfleet.models import DeviceSettingDefinition
from posfleet.models.enums import PrinterType, SettingType
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.flow.admin.support import Admin, admin

REQUIRED = {
    "createdAt",
    "createdBy",
    "deviceUid",
    "identifier",
    "lastModifiedAt",
    "lastActivityAt",
    "lastTenantUserUid",
    "name",
    "systemInformation",
    "status",
    "store",
    "deviceLinkCode",
    "lastOrderUid",
    "till",
    "appCode",
    "settings",
    "printers",
}


def assert_flow_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body: dict[str, str] = response.json()
    assert set(body) == {"code", "message", "logId"}
    assert body["message"]
    return body


async def create(client: httpx.AsyncClient, a: Admin, **fields: object) -> dict[str, object]:
    r = await client.post(
        a.url(), json={"name": "Till PC", "appCode": "CLIENT", **fields}, headers=a.headers
    )
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def test_create_answers_201_with_a_ready_device_and_a_typeable_link_code(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    printer = await factories.printer(session, a.tenant, PrinterType.LABEL, name="Labels")
    session.add(
        DeviceSettingDefinition(
            tenant_id=a.tenant.id,
            key="mode",
            name="Mode",
            type=SettingType.ENUM,
            allowed_values=["fast", "slow"],
            default_value="slow",
        )
    )
    await session.commit()
    body = await create(
        client,
        a,
        storeUid=a.store.uid,
        tillUid=a.till.uid,
        printerUids=[printer.uid],
        settings=[{"key": "mode", "value": "fast"}],
        deviceUid="front-till-1",
    )
    assert set(body) >= REQUIRED
    assert body["status"] == "READY_TO_LINK"
    assert body["deviceUid"] == "front-till-1"
    code = str(body["deviceLinkCode"])
    assert len(code) == runtime.settings.link_code_length
    assert set(code) <= set(CODE_ALPHABET)
    assert body["store"] == {
        "name": a.store.name,
        "storeUid": a.store.uid,
        "organizationUid": a.tenant.uid,
    }
    assert body["till"] == {"tillUid": a.till.uid, "name": "Counter one", "tillNumber": 1}
    assert body["printers"] == [{"printerUid": printer.uid, "name": "Labels", "type": "LABEL"}]
    assert body["settings"] == [
        {
            "key": "mode",
            "value": "fast",
            "type": "ENUM",
            "name": "Mode",
            "allowedValues": ["fast", "slow"],
            "validationRegex": "",
            "required": False,
        }
    ]
    assert body["createdBy"] == body["lastModifiedBy"] == a.user.user_code
    assert re.fullmatch(r"[A-Za-z0-9_-]+", str(body["identifier"]))
    fetched = await client.get(a.url(f"/{body['deviceUid']}"), headers=a.headers)
    assert fetched.status_code == 200
    assert fetched.json()["deviceLinkCode"] == ""
    assert {k: v for k, v in fetched.json().items() if k != "deviceLinkCode"} == {
        k: v for k, v in body.items() if k != "deviceLinkCode"
    }


async def test_a_device_without_store_or_till_shows_them_as_null(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    body = await create(client, a)
    assert body["store"] is None
    assert body["till"] is None
    assert body["lastActivityAt"] is None


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"deviceUid": "taken"}, "already exists"),
        ({"tillUid": "TILL_OF_OTHER_STORE"}, "does not belong"),
        ({"printerUids": ["no-such-printer"]}, "No printer 'no-such-printer'"),
        ({"settings": [{"key": "mode", "value": "warp"}]}, "settings.mode"),
        ({"settings": [{"key": "nope", "value": "1"}]}, "settings.nope"),
        ({"storeUid": "no-such-store"}, "does not exist"),
        ({"name": "   "}, "name"),
        ({"appCode": "TOASTER"}, "appCode"),
        ({"deviceUid": "bad uid!"}, "deviceUid"),
        ({"name": 42}, "name"),
        ({"printerUids": ["ok", "not ok"]}, "printerUids"),
        ({"name": "x" * 5000}, "name"),
    ],
)
async def test_create_refuses_bad_input_with_400_saying_what_was_wrong(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    fields: dict[str, object],
    fragment: str,
) -> None:
    a = await admin(session, runtime)
    other_store = await factories.store(session, a.tenant)
    other_till = await factories.till(session, other_store)
    session.add(
        DeviceSettingDefinition(
            tenant_id=a.tenant.id,
            key="mode",
            name="Mode",
            type=SettingType.ENUM,
            allowed_values=["fast"],
            default_value="fast",
        )
    )
    await session.commit()
    await create(client, a, deviceUid="taken")
    if fields.get("tillUid") == "TILL_OF_OTHER_STORE":
        fields = {"storeUid": a.store.uid, "tillUid": other_till.uid}
    r = await client.post(
        a.url(), json={"name": "Till PC", "appCode": "CLIENT", **fields}, headers=a.headers
    )
    assert fragment in assert_flow_error(r, 400)["message"]


async def test_malformed_and_oversized_bodies_are_refused_in_the_flow_shape(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    headers = {**a.headers, "Content-Type": "application/json"}
    for content in (b"{", b"[1, 2]", b'"text"', b'{"name": "a", "appCode": null}'):
        r = await client.post(a.url(), content=content, headers=headers)
        assert_flow_error(r, 400)
    huge = b'{"name": "' + b"a" * (runtime.settings.max_body_bytes + 1) + b'"}'
    assert_flow_error(await client.post(a.url(), content=huge, headers=headers), 413)


async def test_get_of_an_unknown_device_is_404(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    assert_flow_error(await client.get(a.url("/no-such-device"), headers=a.headers), 404)
    assert_flow_error(await client.get(a.url("/bad%20uid"), headers=a.headers), 400)


async def test_update_is_partial_and_keeps_last_modified_by(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    body = await create(client, a, storeUid=a.store.uid, tillUid=a.till.uid)
    r = await client.put(
        a.url(f"/{body['deviceUid']}"), json={"name": "Renamed"}, headers=a.headers
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Renamed"
    assert updated["till"] == body["till"]
    assert updated["store"] == body["store"]
    assert updated["lastModifiedAt"] >= body["lastModifiedAt"]
    assert updated["deviceLinkCode"] == ""
    cleared = await client.put(
        a.url(f"/{body['deviceUid']}"), json={"tillUid": ""}, headers=a.headers
    )
    assert cleared.json()["till"] is None
    assert cleared.json()["store"] == body["store"]


async def test_update_refuses_a_till_of_another_store_a_taken_till_and_unknown_printers(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    other_till = await factories.till(session, await factories.store(session, a.tenant))
    await session.commit()
    holder = await create(client, a, tillUid=a.till.uid)
    device = await create(client, a, storeUid=a.store.uid)
    url = a.url(f"/{device['deviceUid']}")
    for change, fragment in (
        ({"tillUid": other_till.uid}, "does not belong"),
        ({"tillUid": a.till.uid}, str(holder["deviceUid"])),
        ({"printerUids": ["ghost"]}, "No printer 'ghost'"),
        ({"status": "SLEEPING"}, "status"),
        ({"storeUid": "white space"}, "storeUid"),
    ):
        r = await client.put(url, json=change, headers=a.headers)
        assert fragment in assert_flow_error(r, 400)["message"], change


async def test_a_ready_device_cannot_be_made_active_by_put(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    device = await create(client, a)
    r = await client.put(
        a.url(f"/{device['deviceUid']}"), json={"status": "ACTIVE"}, headers=a.headers
    )
    assert_flow_error(r, 400)
    again = await client.get(a.url(f"/{device['deviceUid']}"), headers=a.headers)
    assert again.json()["status"] == "READY_TO_LINK"


async def test_block_unblock_and_reset_follow_the_lifecycle_and_reset_kills_credentials(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    created = await create(client, a)
    uid = str(created["deviceUid"])
    service = DeviceService(session, runtime)
    device = await service.get(a.tenant.id, uid)
    await service.activate(device, "test", how="test")
    await session.commit()
    token, _ = TokenService(session, runtime).device_token(device, a.tenant)
    blocked = await client.put(a.url(f"/{uid}"), json={"status": "BLOCKED"}, headers=a.headers)
    assert blocked.json()["status"] == "BLOCKED"
    active = await client.put(a.url(f"/{uid}"), json={"status": "ACTIVE"}, headers=a.headers)
    assert active.json()["status"] == "ACTIVE"
    identifier = active.json()["identifier"]
    reset = await client.put(a.url(f"/{uid}"), json={"status": "READY_TO_LINK"}, headers=a.headers)
    assert reset.status_code == 200
    assert reset.json()["status"] == "READY_TO_LINK"
    assert len(reset.json()["deviceLinkCode"]) == runtime.settings.link_code_length
    assert reset.json()["deviceLinkCode"] != created["deviceLinkCode"]
    assert reset.json()["identifier"] != identifier
    async with runtime.sessionmaker() as fresh:
        with pytest.raises(Unauthorized):
            await TokenService(fresh, runtime).authenticate(token, TokenType.DEVICE)


async def test_delete_answers_204_and_the_device_and_its_tokens_are_gone(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    uid = str((await create(client, a))["deviceUid"])
    service = DeviceService(session, runtime)
    device = await service.get(a.tenant.id, uid)
    await service.activate(device, "test", how="test")
    await session.commit()
    token, _ = TokenService(session, runtime).device_token(device, a.tenant)
    r = await client.delete(a.url(f"/{uid}"), headers=a.headers)
    assert r.status_code == 204
    assert r.content == b""
    assert_flow_error(await client.get(a.url(f"/{uid}"), headers=a.headers), 404)
    assert_flow_error(await client.delete(a.url(f"/{uid}"), headers=a.headers), 404)
    async with runtime.sessionmaker() as fresh:
        with pytest.raises(Unauthorized):
            await TokenService(fresh, runtime).authenticate(token, TokenType.DEVICE)


async def test_nul_characters_in_text_are_400_not_a_server_error(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    r = await client.post(a.url(), json={"name": "a\x00b", "appCode": "CLIENT"}, headers=a.headers)
    assert "NUL" in assert_flow_error(r, 400)["message"]
    search = await client.post(a.url("/search"), json={"query": "\x00"}, headers=a.headers)
    assert_flow_error(search, 400)
