"""HTTP hygiene: no-store on credential answers, 413 for chunked bodies, a true Allow on 405,
a throttled JWKS reload, and API reference pages that load nothing from elsewhere."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.runtime import Runtime
from posfleet.tokens import keys
from tests.flow.device.support import PASSWORD, bearer, world


async def test_answers_that_carry_credentials_are_not_stored(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Sign-in, link, token and account answers (and their errors) say Cache-Control: no-store;
    GET /v2/device keeps its own caching."""
    w = await world(session, runtime)
    linked = await client.post(
        f"/v2/device/{w.code}/link",
        json={"appId": w.app.app_id, "userCode": w.full_user.user_code, "password": PASSWORD},
    )
    assert linked.status_code == 200, linked.text
    body = linked.json()
    answers = [
        linked,
        await client.post(
            "/auth/login", json={"userCode": w.full_user.user_code, "password": PASSWORD}
        ),
        await client.post(
            "/v2/device/token", json={"appId": w.app.app_id, "refreshToken": body["refreshToken"]}
        ),
        await client.post(
            "/v2/account",
            json={"userCode": w.regular_user.user_code, "password": PASSWORD},
            headers=bearer(body["token"]),
        ),
        await client.post("/v2/device/AAAAAAAA/link", json={}),
        await client.post(
            "/api/v1/nowhere/storefront/pos/auth/pair-device", json={"pairing_code": "X"}
        ),
    ]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    info = await client.get("/v2/device", headers=bearer(body["token"]))
    assert info.status_code == 200
    assert info.headers.get("cache-control") != "no-store"


async def _chunks(size: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * 4096
        sent += 4096


async def test_a_chunked_body_over_the_cap_is_413_like_a_sized_one(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    too_big = runtime.settings.max_body_bytes + 10_000
    for path in ("/v2/device/AAAAAAAA/link", "/api/v1/x/storefront/pos/auth/pair-device"):
        chunked = await client.post(
            path, content=_chunks(too_big), headers={"content-type": "application/json"}
        )
        assert "content-length" not in chunked.request.headers
        assert chunked.status_code == 413, chunked.text
        sized = await client.post(
            path, content=b" " * too_big, headers={"content-type": "application/json"}
        )
        assert sized.status_code == 413


async def test_a_small_chunked_body_reaches_the_application(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)

    async def body() -> AsyncIterator[bytes]:
        yield b'{"appId": "' + w.app.app_id.encode() + b'", '
        yield b'"userCode": "' + w.full_user.user_code.encode() + b'", '
        yield b'"password": "' + PASSWORD.encode() + b'"}'

    response = await client.post(
        f"/v2/device/{w.code}/link", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text


async def test_405_names_every_method_the_path_answers(client: httpx.AsyncClient) -> None:
    """GET, POST (device-flow registration) and PUT /v2/device are three routes; Allow names
    them all (and HEAD)."""
    response = await client.delete("/v2/device")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, PUT"
    assert response.json()["code"] == "method_not_allowed"
    post_only = await client.get("/auth/login")
    assert post_only.status_code == 405
    assert post_only.headers["allow"] == "POST"


async def test_the_jwks_endpoint_reloads_keys_at_most_every_few_seconds(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A key rotated elsewhere shows up once the reload interval has passed, not on every call:
    the public endpoint is no database query per request."""
    before = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    async with runtime.sessionmaker() as s:
        rotated = await keys.rotate(s, runtime.secret, runtime.settings.jwt_algorithm)
        await s.commit()
    soon = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert soon == before
    runtime.keys_loaded_at -= 60  # the interval has passed
    later = {k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]}
    assert rotated.kid in later


async def test_the_api_reference_pages_load_their_assets_from_posfleet(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        urls += re.findall(r"""url:\\s*['"]([^'"]+)['"]""", html)
        assert urls, page
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            if url != "/openapi.json":
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 1000 or url.endswith(".png"), url
