"""X-Api-Key: a storefront key of the POS channel, bound to one tenant, stored hashed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select, update

from posfleet.apikeys.service import ApiKeyService
from posfleet.models import ApiKey
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, make_world

API_KEY_PATHS = [
    ("post", "/pos/auth/pair-device", {"pairing_code": "ABCD-EFGH"}),
    ("post", "/pos/auth/login/email", {"location_id": "x", "email": "a@example.com"}),
    ("post", "/pos/auth/login/phone", {"location_id": "x", "phone": "91234567"}),
    ("post", "/pos/auth/login/whatsapp", {"location_id": "x", "phone": "91234567"}),
    ("post", "/pos/auth/verify-otp", {"otp": "1", "otp_token": "t", "otp_action": "login"}),
    ("get", "/pos/locations", None),
]


async def _call(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: object, key: str | None
) -> httpx.Response:
    headers = {"X-Api-Key": key} if key is not None else {}
    return await client.request(method, world.base + path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), API_KEY_PATHS)
async def test_a_missing_or_unknown_key_is_401(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: object
) -> None:
    for key in (None, "pfk_not-a-real-key"):
        response = await _call(client, world, method, path, body, key)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.json()["success"] is False


async def test_a_revoked_key_is_401(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        key = (await ApiKeyService(session, runtime).of_tenant(world.tenant.uid))[0]
        await ApiKeyService(session, runtime).revoke(key.uid)
        await session.commit()
    response = await client.get(f"{world.base}/pos/locations", headers=world.key_headers)
    assert response.status_code == 401


async def test_a_key_of_another_tenant_is_401(
    client: httpx.AsyncClient, world: World, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        other = await make_world(session, runtime)
    response = await client.get(f"{world.base}/pos/locations", headers=other.key_headers)
    assert response.status_code == 401


@pytest.mark.parametrize(("column", "value"), [("scope", "admin"), ("channel", "web")])
async def test_a_key_of_another_scope_or_channel_is_401(
    client: httpx.AsyncClient, world: World, runtime: Runtime, column: str, value: str
) -> None:
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.tenant_id == world.tenant.id).values({column: value})
        )
        await session.commit()
    response = await client.get(f"{world.base}/pos/locations", headers=world.key_headers)
    assert response.status_code == 401


async def test_keys_are_stored_as_hashes_with_a_display_prefix(
    world: World, runtime: Runtime
) -> None:
    async with runtime.sessionmaker() as session:
        row = (
            await session.scalars(select(ApiKey).where(ApiKey.tenant_id == world.tenant.id))
        ).one()
    assert row.key_hash == runtime.hasher.hash(world.api_key)
    assert world.api_key not in row.key_hash
    assert world.api_key.startswith(row.prefix)
    assert (row.scope, row.channel) == ("storefront", "pos")
