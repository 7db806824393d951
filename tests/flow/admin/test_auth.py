"""posfleet's auth service over HTTP: sign-in, the tenant exchange, JWKS, integration tokens."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.auth.integration import IntegrationTokenService
from posfleet.kit.jwt import TokenType
from posfleet.models.enums import AccountType
from posfleet.runtime import Runtime
from posfleet.tokens import keys
from tests import factories
from tests.flow.admin.support import admin, bearer

PASSWORD = "correct horse battery"


async def test_a_back_office_user_signs_in_and_the_token_lists_devices(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    r = await client.post("/auth/login", json={"userCode": a.user.user_code, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["expires"] > time.time()
    header = jwt.get_unverified_header(body["authToken"])
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    claims = jwt.decode(body["authToken"], options={"verify_signature": False})
    assert claims["typ"] == "auth"
    assert claims["ten"] == a.tenant.uid
    assert {"iat", "exp", "jti", "sub"} <= set(claims)
    listed = await client.get(a.url(), headers=bearer(body["authToken"]))
    assert listed.status_code == 200


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    wrong = await client.post("/auth/login", json={"userCode": a.user.user_code, "password": "x"})
    unknown = await client.post(
        "/auth/login", json={"userCode": "nobody-" + a.tenant.uid, "password": "x"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["message"] == unknown.json()["message"]
    assert set(wrong.json()) == {"code", "message", "logId"}


async def test_a_user_code_of_several_tenants_needs_the_tenant_uid(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    code = factories._uid("shared")
    first = await factories.tenant(session)
    second = await factories.tenant(session)
    await factories.user(session, first, user_code=code)
    await factories.user(session, second, user_code=code)
    await session.commit()
    ambiguous = await client.post("/auth/login", json={"userCode": code, "password": PASSWORD})
    assert ambiguous.status_code == 400
    assert ambiguous.json()["code"] == "tenant_required"
    chosen = await client.post(
        "/auth/login", json={"userCode": code, "password": PASSWORD, "tenantUid": second.uid}
    )
    assert chosen.status_code == 200
    claims = jwt.decode(chosen.json()["authToken"], options={"verify_signature": False})
    assert claims["ten"] == second.uid


async def test_a_regular_user_cannot_sign_in_to_the_back_office(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant, account_type=AccountType.REGULAR)
    await session.commit()
    r = await client.post("/auth/login", json={"userCode": user.user_code, "password": PASSWORD})
    assert r.status_code == 401


async def test_sign_in_attempts_are_limited_per_address(app: FastAPI, runtime: Runtime) -> None:
    limit = runtime.settings.login_rate_limit_per_address
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        # A new user code each time: the per-account budget stays out of the way.
        statuses = [
            (
                await client.post(
                    "/auth/login", json={"userCode": secrets.token_hex(6), "password": "y"}
                )
            ).status_code
            for _ in range(limit + 1)
        ]
    assert statuses[:limit] == [401] * limit
    assert statuses[-1] == 429


async def test_malformed_login_bodies_are_400_in_the_flow_shape(
    client: httpx.AsyncClient,
) -> None:
    for content in (b"{not json", b'{"userCode": 5, "password": "x"}', b"[]"):
        r = await client.post(
            "/auth/login", content=content, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400, content
        assert set(r.json()) == {"code", "message", "logId"}


async def test_an_auth_token_is_exchanged_for_an_access_token_of_its_tenant_only(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    other = await admin(session, runtime)
    r = await client.post(f"/v2/tenants/{a.tenant.uid}/account", headers=a.headers)
    assert r.status_code == 200, r.text
    access = r.json()["accessToken"]
    assert jwt.decode(access, options={"verify_signature": False})["typ"] == "access"
    assert (await client.get(a.url(), headers=bearer(access))).status_code == 200
    foreign = await client.post(f"/v2/tenants/{other.tenant.uid}/account", headers=a.headers)
    assert foreign.status_code == 403
    # An access token is not an auth token: it cannot be exchanged again.
    again = await client.post(f"/v2/tenants/{a.tenant.uid}/account", headers=bearer(access))
    assert again.status_code == 401


async def test_tokens_of_a_rotated_key_stay_valid_and_both_keys_are_published(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    old_kid = jwt.get_unverified_header(a.headers["Authorization"].split()[1])["kid"]
    await keys.rotate(session, runtime.secret, runtime.settings.jwt_algorithm)
    await session.commit()
    published = (await client.get("/.well-known/jwks.json")).json()["keys"]
    kids = {k["kid"] for k in published}
    assert old_kid in kids
    assert len(kids) >= 2
    assert (await client.get(a.url(), headers=a.headers)).status_code == 200
    r = await client.post("/auth/login", json={"userCode": a.user.user_code, "password": PASSWORD})
    new_kid = jwt.get_unverified_header(r.json()["authToken"])["kid"]
    assert new_kid != old_kid
    assert new_kid in kids


async def test_a_revoked_integration_token_fails_on_its_next_request(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    user = await factories.user(
        session, tenant, account_type=AccountType.INTEGRATION, permissions=["DEVICE"]
    )
    await session.commit()
    service = IntegrationTokenService(session, runtime)
    issued = await service.create(tenant.uid, user.user_code, "ERP sync")
    await session.commit()
    url = f"/v2/tenants/{tenant.uid}/devices"
    assert (await client.get(url, headers=bearer(issued.token))).status_code == 200
    listed = await service.list(tenant.uid)
    assert [row.jti for row, _ in listed] == [issued.row.jti]
    assert issued.token not in str([vars(row) for row, _ in listed])
    await service.revoke(tenant.uid, issued.row.jti)
    await session.commit()
    r = await client.get(url, headers=bearer(issued.token))
    assert r.status_code == 401
    assert set(r.json()) == {"code", "message", "logId"}


async def test_bad_tokens_are_401_and_missing_permission_is_403(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    weak = await admin(session, runtime, permissions=[])
    expired, _ = runtime.codec.encode(
        TokenType.AUTH,
        {"sub": a.user.uid, "ten": a.tenant.uid, "ver": a.user.token_version},
        timedelta(seconds=-60),
    )
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer(expired),
    ):
        r = await client.get(a.url(), headers=headers)
        assert r.status_code == 401, headers
        assert set(r.json()) == {"code", "message", "logId"}
    forbidden = await client.get(weak.url(), headers=weak.headers)
    assert forbidden.status_code == 403
