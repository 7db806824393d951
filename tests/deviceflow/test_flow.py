"""The device authorization flow over HTTP on both engines: register, authorize, poll."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.devices.service import DeviceService
from posfleet.kit.clock import utcnow
from posfleet.kit.codes import CODE_ALPHABET, normalize_code
from posfleet.models import Device, DeviceGrant
from posfleet.models.enums import AccountType, DeviceStatus, GrantState
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.deviceflow.support import (
    FlowWorld,
    authorize,
    change_grant,
    flow_world,
    poll,
    register,
    wait_interval,
)
from tests.flow.device.support import PASSWORD, assert_generic_error, bearer


def _refused(response: httpx.Response, error: str, code: str | None = None) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error, body
    if code is not None:
        assert body["code"] == code, body
    assert body["message"]


async def _grant(runtime: Runtime, identifier: str) -> DeviceGrant:
    async with runtime.sessionmaker() as s:
        grant = await s.scalar(
            select(DeviceGrant).where(
                DeviceGrant.identifier_hash == runtime.hasher.hash(identifier)
            )
        )
    assert grant is not None
    return grant


async def _approved(
    client: httpx.AsyncClient, fw: FlowWorld, runtime: Runtime
) -> tuple[str, Device]:
    registered = await register(client, fw)
    response = await authorize(client, fw, registered["deviceCode"])
    assert response.status_code == 200, response.text
    grant = await _grant(runtime, registered["deviceIdentifier"])
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, grant.device_id)
    assert device is not None
    return registered["deviceIdentifier"], device


async def test_registration_answers_a_typable_code_a_secret_identifier_and_an_absolute_uri(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    body = await register(client, fw)
    assert set(body) == {
        "deviceCode",
        "deviceIdentifier",
        "expires_in",
        "interval",
        "verificationUri",
    }
    code = normalize_code(body["deviceCode"])
    assert len(code) == 8
    assert set(code) <= set(CODE_ALPHABET)
    assert body["deviceCode"] == f"{code[:4]}-{code[4:]}"
    assert len(body["deviceIdentifier"]) >= 40  # 256 bits, URL-safe base64, prefixed
    assert body["verificationUri"] == "http://testserver/device"
    assert body["expires_in"] == runtime.settings.device_flow_ttl_seconds
    assert body["interval"] == runtime.settings.device_flow_interval_seconds
    grant = await _grant(runtime, body["deviceIdentifier"])
    assert body["deviceIdentifier"] not in (grant.identifier_hash, grant.device_code_hash)
    assert grant.name == "Back room tablet"
    assert grant.state is GrantState.PENDING


async def test_an_unknown_or_disabled_client_is_a_400_in_the_flow_error_shape(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    unknown = await client.post("/v2/device", json={"clientId": "nobody"})
    assert unknown.status_code == 400
    assert_generic_error(unknown.json(), "unknown_client")
    fw.client.is_active = False
    session.add(fw.client)
    await session.commit()
    disabled = await client.post("/v2/device", json={"clientId": fw.client.client_id})
    assert disabled.status_code == 400
    assert_generic_error(disabled.json(), "unknown_client")


async def test_an_authorized_device_is_active_where_the_user_put_it_and_listed(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    async with runtime.sessionmaker() as s:
        # The till of the world is taken by its READY_TO_LINK device; use a free one.
        till = await factories.till(s, fw.w.store, number=2)
        await s.commit()
    registered = await register(client, fw)
    response = await authorize(client, fw, registered["deviceCode"].lower(), tillUid=till.uid)
    assert response.status_code == 200, response.text
    grant = await _grant(runtime, registered["deviceIdentifier"])
    assert grant.state is GrantState.APPROVED
    assert grant.decided_by == fw.w.full_user.user_code
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, grant.device_id)
    assert device is not None
    assert device.status is DeviceStatus.ACTIVE
    assert (device.store_id, device.till_id) == (fw.w.store.id, till.id)
    assert device.name == "Back room tablet"
    assert device.system_information == "Linux pos-7 6.1.0 aarch64"
    listed = await client.get(f"/v2/tenants/{fw.w.tenant.uid}/devices", headers=fw.auth)
    assert device.uid in {item["deviceUid"] for item in listed.json()["items"]}
    found = await client.post(
        f"/v2/tenants/{fw.w.tenant.uid}/devices/search",
        json={"name": "Back room"},
        headers=fw.auth,
    )
    assert [item["deviceUid"] for item in found.json()["items"]] == [device.uid]


async def test_authorization_refusals_say_what_is_wrong(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    other = await flow_world(session, runtime)
    code = (await register(client, fw))["deviceCode"]

    foreign = await client.post(
        "/v2/device/authorize",
        json={"deviceCode": code, "tenantUid": fw.w.tenant.uid, "storeUid": fw.w.store.uid},
        headers=other.auth,
    )
    assert foreign.status_code == 403
    unknown_store = await authorize(client, fw, code, storeUid="no-such-store")
    assert unknown_store.status_code == 400
    other_till = await authorize(client, fw, code, tillUid=other.w.till.uid if other.w.till else "")
    assert other_till.status_code == 400
    async with runtime.sessionmaker() as s:
        store_b = await factories.store(s, fw.w.tenant)
        till_b = await factories.till(s, store_b, number=5)
        await s.commit()
    wrong_store = await authorize(client, fw, code, tillUid=till_b.uid)
    assert wrong_store.status_code == 400
    assert "does not belong to store" in wrong_store.json()["message"]
    assert_generic_error((await authorize(client, fw, "ZZZZ-ZZZZ")).json(), "unknown_device_code")

    async with runtime.sessionmaker() as s:
        regular, _ = TokenService(s, runtime).auth_token(fw.w.regular_user, fw.w.tenant)
    as_regular = await client.post(
        "/v2/device/authorize",
        json={"deviceCode": code, "tenantUid": fw.w.tenant.uid, "storeUid": fw.w.store.uid},
        headers=bearer(regular),
    )
    assert as_regular.status_code == 403

    assert (await authorize(client, fw, code)).status_code == 200
    assert_generic_error((await authorize(client, fw, code)).json(), "device_code_used")

    expired = await register(client, fw)
    await change_grant(runtime, expired["deviceIdentifier"], expires_at=utcnow())
    assert_generic_error(
        (await authorize(client, fw, expired["deviceCode"])).json(), "device_code_expired"
    )
    denied = await register(client, fw)
    await change_grant(runtime, denied["deviceIdentifier"], state=GrantState.DENIED)
    assert_generic_error(
        (await authorize(client, fw, denied["deviceCode"])).json(), "device_code_denied"
    )


async def test_an_integration_user_authorizes_too(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    async with runtime.sessionmaker() as s:
        integration = await factories.user(
            s, fw.w.tenant, account_type=AccountType.INTEGRATION, all_stores=True
        )
        token, _ = TokenService(s, runtime).access_token(integration, fw.w.tenant)
        await s.commit()
    code = (await register(client, fw))["deviceCode"]
    response = await client.post(
        "/v2/device/authorize",
        json={"deviceCode": code, "tenantUid": fw.w.tenant.uid, "storeUid": fw.w.store.uid},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text


async def test_polls_are_pending_then_slowed_down_with_a_longer_interval_kept_in_the_database(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    identifier = (await register(client, fw))["deviceIdentifier"]
    _refused(await poll(client, fw, identifier), "authorization_pending")
    _refused(await poll(client, fw, identifier), "slow_down")
    assert (await _grant(runtime, identifier)).interval_seconds == 10
    await wait_interval(runtime, identifier, 6)
    _refused(await poll(client, fw, identifier), "slow_down")
    assert (await _grant(runtime, identifier)).interval_seconds == 15
    await wait_interval(runtime, identifier, 15)
    _refused(await poll(client, fw, identifier), "authorization_pending")


async def test_an_approved_grant_buys_device_tokens_at_most_once_per_interval(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    identifier, device = await _approved(client, fw, runtime)
    first = await poll(client, fw, identifier)
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"token", "token_type", "expires"}
    assert first.json()["token_type"] == "Bearer"
    info = await client.get("/v2/device", headers=bearer(first.json()["token"]))
    assert info.status_code == 200
    assert info.json()["deviceUid"] == device.uid
    assert (await _grant(runtime, identifier)).state is GrantState.REDEEMED
    _refused(await poll(client, fw, identifier), "slow_down")
    await wait_interval(runtime, identifier, 60)
    later = await poll(client, fw, identifier)
    assert later.status_code == 200
    # Long after the code's expiry the identifier still works: it is the device's credential.
    await change_grant(runtime, identifier, expires_at=utcnow() - timedelta(days=30))
    await wait_interval(runtime, identifier, 60)
    assert (await poll(client, fw, identifier)).status_code == 200


async def test_denied_expired_and_unknown_grants_are_refused_with_their_status(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    denied = await register(client, fw)
    await change_grant(runtime, denied["deviceIdentifier"], state=GrantState.DENIED)
    _refused(await poll(client, fw, denied["deviceIdentifier"]), "access_denied")
    expired = await register(client, fw)
    await change_grant(runtime, expired["deviceIdentifier"], expires_at=utcnow())
    _refused(await poll(client, fw, expired["deviceIdentifier"]), "expired_token")
    _refused(await poll(client, fw, "pfd_nothing"), "access_denied", "invalid_device_identifier")
    wrong_client = await client.post(
        "/v2/device/token",
        json={"clientId": "another", "deviceIdentifier": denied["deviceIdentifier"]},
    )
    _refused(wrong_client, "access_denied", "invalid_device_identifier")
    _refused(
        await client.post("/v2/device/token", json={"clientId": "x", "deviceIdentifier": ""}),
        "access_denied",
        "validation_failed",
    )


async def _admin_action(runtime: Runtime, device: Device, action: str) -> None:
    async with runtime.sessionmaker() as s:
        row = await s.get(Device, device.id)
        assert row is not None
        await getattr(DeviceService(s, runtime), action)(row, "admin")
        await s.commit()


async def test_a_blocked_device_is_denied_until_unblocked_and_a_reset_or_deleted_one_expires(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    identifier, device = await _approved(client, fw, runtime)
    token = (await poll(client, fw, identifier)).json()["token"]
    await _admin_action(runtime, device, "block")
    assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401
    await wait_interval(runtime, identifier, 60)
    _refused(await poll(client, fw, identifier), "access_denied", "device_blocked")
    await _admin_action(runtime, device, "unblock")
    await wait_interval(runtime, identifier, 60)
    assert (await poll(client, fw, identifier)).status_code == 200
    await _admin_action(runtime, device, "reset_link")
    await wait_interval(runtime, identifier, 60)
    _refused(await poll(client, fw, identifier), "expired_token", "device_reset")

    deleted_identifier, deleted = await _approved(client, fw, runtime)
    await _admin_action(runtime, deleted, "delete")
    _refused(await poll(client, fw, deleted_identifier), "expired_token", "device_reset")


async def test_tokens_of_the_flow_obey_every_rule_of_linked_devices(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    identifier, device = await _approved(client, fw, runtime)
    headers = bearer((await poll(client, fw, identifier)).json()["token"])
    put = await client.put("/v2/device", json={"systemInformation": "Linux 6.2"}, headers=headers)
    assert put.status_code == 204
    users = await client.get("/v2/device/users", headers=headers)
    assert fw.w.full_user.user_code in {u["userCode"] for u in users.json()["items"]}
    login = await client.post(
        "/v2/account",
        json={"userCode": fw.w.regular_user.user_code, "password": PASSWORD},
        headers=headers,
    )
    assert login.status_code == 200, login.text
    user_headers = bearer(login.json()["accessToken"])
    assert (await client.get("/v2/device", headers=user_headers)).status_code == 200
    await _admin_action(runtime, device, "block")
    assert (await client.get("/v2/device", headers=headers)).status_code == 401
    assert (await client.get("/v2/device", headers=user_headers)).status_code == 401
    assert (await client.get("/v2/device/users", headers=headers)).status_code == 401


async def test_the_device_code_is_no_longer_pending_once_decided_by_the_client_id_owner(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """A client created after registration is irrelevant: the grant keeps its own client."""
    fw = await flow_world(session, runtime)
    registered = await register(client, fw)
    async with runtime.sessionmaker() as s:
        await AppRegistryService(s).create_device_flow_client(
            fw.client.client_id + "x", AppFields(name="x")
        )
        await s.commit()
    assert (await authorize(client, fw, registered["deviceCode"])).status_code == 200
    assert (await poll(client, fw, registered["deviceIdentifier"])).status_code == 200
