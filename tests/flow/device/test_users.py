"""GET /v2/device/users and POST /v2/account on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.app import create_app
from posfleet.config import Settings
from posfleet.kit.jwt import TokenType
from posfleet.models.enums import AccountType, UserStatus
from posfleet.runtime import Runtime
from tests import factories
from tests.flow.device.support import (
    PASSWORD,
    assert_generic_error,
    bearer,
    link,
    schema_errors,
    world,
)


async def test_the_users_who_may_work_on_the_device_are_listed(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    everywhere = await factories.user(session, w.tenant, all_stores=True)
    await factories.user(session, w.tenant, stores=[w.store], status=UserStatus.INACTIVE)
    await factories.user(session, w.tenant, stores=[await factories.store(session, w.tenant)])
    await session.commit()
    token = (await link(client, w))["token"]
    response = await client.get("/v2/device/users", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert schema_errors("DeviceUserResponseSchema", body["items"][0]) == []
    listed = {item["tenantUserUid"] for item in body["items"]}
    assert listed == {w.full_user.uid, w.regular_user.uid, everywhere.uid}
    assert body["paging"] == {"pageNumber": 1, "pageSize": 50, "totalCount": 3}


async def test_users_are_filtered_by_account_type_paged_and_sorted(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    await factories.user(session, w.tenant, stores=[w.store], account_type=AccountType.SUPPORT)
    await session.commit()
    token = (await link(client, w))["token"]
    both = await client.get(
        "/v2/device/users?accountType=FULL,REGULAR&sortBy=accountType&sortDirection=DESC"
        "&pageSize=1&pageNumber=2",
        headers=bearer(token),
    )
    assert both.status_code == 200, both.text
    assert both.json()["paging"] == {"pageNumber": 2, "pageSize": 1, "totalCount": 2}
    assert [i["accountType"] for i in both.json()["items"]] == ["FULL"]
    regular = await client.get("/v2/device/users?accountType=REGULAR", headers=bearer(token))
    assert [i["tenantUserUid"] for i in regular.json()["items"]] == [w.regular_user.uid]


async def test_bad_list_parameters_are_400_not_500(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    for query in (
        "sortBy=password",
        "pageSize=100000",
        "pageNumber=0",
        "pageNumber=99999999999999999999",
        "pageNumber=9223372036854775807",
        "accountType=BOSS",
    ):
        response = await client.get(f"/v2/device/users?{query}", headers=bearer(token))
        assert response.status_code == 400, query
        assert_generic_error(response.json(), "validation_failed")


async def test_a_regular_user_logs_in_on_the_device_with_a_token_naming_both(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    response = await client.post(
        "/v2/account",
        json={"userCode": w.regular_user.user_code, "password": PASSWORD},
        headers=bearer(token),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tenantUser"]["tenantUserUid"] == w.regular_user.uid
    claims = runtime.codec.decode(body["accessToken"], TokenType.DEVICE_USER)
    assert (claims["sub"], claims["dev"]) == (w.regular_user.uid, w.device.uid)
    info = await client.get("/v2/device", headers=bearer(body["accessToken"]))
    assert info.status_code == 200
    # A user's access token is not a device token: it cannot log others in.
    again = await client.post(
        "/v2/account",
        json={"userCode": w.full_user.user_code, "password": PASSWORD},
        headers=bearer(body["accessToken"]),
    )
    assert again.status_code == 401


async def test_login_on_the_device_refuses_wrong_passwords_and_strangers(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    stranger = await factories.user(
        session, w.tenant, stores=[await factories.store(session, w.tenant)], password=PASSWORD
    )
    await session.commit()
    token = (await link(client, w))["token"]
    wrong = await client.post(
        "/v2/account",
        json={"userCode": w.regular_user.user_code, "password": "nope"},
        headers=bearer(token),
    )
    assert wrong.status_code == 400
    assert_generic_error(wrong.json(), "invalid_credentials")
    outside = await client.post(
        "/v2/account",
        json={"userCode": stranger.user_code, "password": PASSWORD},
        headers=bearer(token),
    )
    assert outside.status_code == 400
    assert_generic_error(outside.json(), "no_store_access")


async def test_wrong_passwords_on_the_device_spend_the_address_budget(
    make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    """A failed login rolls its request back, yet its attempt still counts: guessing is bounded."""
    w = await world(session, runtime)
    await session.commit()
    app = create_app(make_settings(login_rate_limit_per_address=3))
    address = f"198.51.100.{uuid.uuid4().hex[:8]}"
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            token = (await link(c, w))["token"]
            wrong = {"userCode": w.regular_user.user_code, "password": "guess"}
            statuses = [
                (await c.post("/v2/account", json=wrong, headers=bearer(token))).status_code
                for _ in range(4)
            ]
    assert statuses == [400, 400, 400, 429]
