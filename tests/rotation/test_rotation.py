"""Rotating the server secret: credentials made under the old secret keep working while it is
listed after the new one, encrypted data moves to the new one with ``posfleet secrets
reencrypt``, and once the old secret is removed what only it could verify is refused with the
normal 4xx — never a 5xx.

Each test runs on a database of its own: signing keys are shared by every tenant of a
database, and these tests re-encrypt them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from posfleet.apikeys.service import ApiKeyService
from posfleet.app import create_app
from posfleet.backoffice import session as cookies
from posfleet.backoffice.session import BackOfficeSession
from posfleet.config import Settings
from posfleet.delivery.service import DeliveryService
from posfleet.kit.clock import utcnow
from posfleet.kit.keyring import key_id
from posfleet.migrations import upgrade
from posfleet.models import (
    ApiKey,
    Delivery,
    DeviceRefreshToken,
    LinkCode,
    OutboxEntry,
    SigningKey,
    WebhookEndpoint,
)
from posfleet.models.enums import DeliveryChannel, DeliveryPurpose, DeliveryStatus, OutboxStatus
from posfleet.outbox.worker import OutboxWorker
from posfleet.runtime import Runtime
from posfleet.webhooks.service import WebhookService
from tests.flow.device.support import World, bearer, link, link_body, world
from tests.support.cli import empty_database, posfleet
from tests.support.clients import asgi_transport
from tests.support.postgres import PostgresServer

OLD = "old-server-secret-" + "o" * 32
NEW = "new-server-secret-" + "n" * 32


@pytest.fixture
def fresh_url(backend: str, pg_server: PostgresServer | None, tmp_path: Path) -> str:
    url = empty_database(backend, pg_server, tmp_path)
    upgrade(Settings(database_url=url, secret_key=OLD))
    return url


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = asgi_transport(application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, application.state.runtime


def _cli(url: str, *args: str, previous: str | None = None) -> Any:
    env = {"POSFLEET_SECRET_KEY": NEW}
    if previous:
        env["POSFLEET_PREVIOUS_SECRET_KEYS"] = previous
    return posfleet(url, "secrets", *args, env=env)


async def _refresh(client: httpx.AsyncClient, w: World, token: str) -> httpx.Response:
    return await client.post(
        "/v2/device/token", json={"appId": w.app.app_id, "refreshToken": token}
    )


async def _locations(client: httpx.AsyncClient, w: World, key: str) -> httpx.Response:
    return await client.get(
        f"/api/v1/{w.tenant.uid}/storefront/pos/locations", headers={"X-Api-Key": key}
    )


async def _key_ids(runtime: Runtime, model: Any) -> list[str]:
    async with runtime.read_sessionmaker() as s:
        return sorted(set((await s.scalars(select(model.secret_key_id))).all()))


async def test_credentials_made_under_an_old_secret_work_until_it_is_removed(
    make_settings: Callable[..., Settings], fresh_url: str, tmp_path: Path
) -> None:
    old_id, new_id = key_id(OLD.encode()), key_id(NEW.encode())
    hook = "http://127.0.0.1:9/hook"

    # Under the old secret alone: a linked device (refresh token), a device waiting with its
    # link code, two API keys, a webhook endpoint, a device token and a back-office cookie.
    old = make_settings(
        database_url=fresh_url, secret_key=OLD, webhook_allow_private_addresses=True
    )
    async with serving(old) as (client, runtime):
        async with runtime.sessionmaker() as s:
            w = await world(s, runtime)
            waiting = await world(s, runtime)
            used_key = (await ApiKeyService(s, runtime).create(w.tenant.uid, "used")).secret
            idle_key = (await ApiKeyService(s, runtime).create(w.tenant.uid, "idle")).secret
            endpoint, hook_secret = await WebhookService(s, runtime).create(
                w.tenant.id, hook, ["device.linked"]
            )
            await s.commit()
        linked = await link(client, w)
        other = await world_linked(client, runtime)
        device_token = (await _refresh(client, w, linked["refreshToken"])).json()["token"]
        for model in (ApiKey, DeviceRefreshToken, LinkCode, SigningKey, WebhookEndpoint):
            assert await _key_ids(runtime, model) == [old_id], model.__tablename__
    cookie = cookies.encode(BackOfficeSession(token="a.b.c", seen=int(utcnow().timestamp())), old)

    # The new secret first, the old one still listed: everything made before keeps working,
    # and what is made now records the new key id.
    both = make_settings(
        database_url=fresh_url,
        secret_key=NEW,
        previous_secret_keys=OLD,
        webhook_allow_private_addresses=True,
    )
    async with serving(both) as (client, runtime):
        assert runtime.secret.ids == (new_id, old_id)
        assert (await client.get("/v2/device", headers=bearer(device_token))).status_code == 200
        refreshed = await _refresh(client, w, linked["refreshToken"])
        assert refreshed.status_code == 200, refreshed.text
        assert (await _locations(client, w, used_key)).status_code == 200
        async with runtime.sessionmaker() as s:
            row = await s.get(WebhookEndpoint, endpoint.id)
            assert row is not None
            assert WebhookService(s, runtime).secret_of(row) == hook_secret
            new_endpoint, _ = await WebhookService(s, runtime).create(
                w.tenant.id, hook, ["device.linked"]
            )
            await s.commit()
        assert new_endpoint.secret_key_id == new_id
        assert cookies.decode(cookie, both).token == "a.b.c"
        # Used long-lived credentials were hashed anew under the newest secret.
        async with runtime.read_sessionmaker() as s:
            used = await s.scalar(
                select(ApiKey).where(ApiKey.name == "used", ApiKey.tenant_id == w.tenant.id)
            )
            idle = await s.scalar(
                select(ApiKey).where(ApiKey.name == "idle", ApiKey.tenant_id == w.tenant.id)
            )
            token_row = await s.scalar(
                select(DeviceRefreshToken).where(DeviceRefreshToken.device_id == w.device.id)
            )
        assert used is not None
        assert idle is not None
        assert token_row is not None
        assert (used.secret_key_id, idle.secret_key_id) == (new_id, old_id)
        assert token_row.secret_key_id == new_id

    status = await asyncio.to_thread(_cli, fresh_url, "status", previous=OLD)
    assert status.exit_code == 0, status.output
    assert f"{old_id}: still in use; keep it listed" in status.output
    assert f"webhook_endpoints       {old_id}" in status.output

    dry = await asyncio.to_thread(_cli, fresh_url, "reencrypt", "--dry-run", previous=OLD)
    assert dry.exit_code == 0, dry.output
    assert "webhook_endpoints: would re-encrypt 1" in dry.output
    assert "signing_keys: would re-encrypt 1" in dry.output
    done = await asyncio.to_thread(_cli, fresh_url, "reencrypt", previous=OLD)
    assert done.exit_code == 0, done.output
    assert "webhook_endpoints: re-encrypted 1" in done.output
    assert "signing_keys: re-encrypted 1" in done.output
    again = await asyncio.to_thread(_cli, fresh_url, "reencrypt", previous=OLD)
    assert "webhook_endpoints: re-encrypted 0" in again.output

    # The old secret removed: encrypted data still opens, and what only the old secret could
    # verify is refused with the usual answers.
    new = make_settings(
        database_url=fresh_url, secret_key=NEW, webhook_allow_private_addresses=True
    )
    async with serving(new) as (client, runtime):
        assert await _key_ids(runtime, SigningKey) == [new_id]
        assert await _key_ids(runtime, WebhookEndpoint) == [new_id]
        assert (await client.get("/v2/device", headers=bearer(device_token))).status_code == 200
        async with runtime.sessionmaker() as s:
            row = await s.get(WebhookEndpoint, endpoint.id)
            assert row is not None
            assert WebhookService(s, runtime).secret_of(row) == hook_secret
        # Re-hashed on use under the new secret: still good.
        assert (await _refresh(client, w, linked["refreshToken"])).status_code == 200
        assert (await _locations(client, w, used_key)).status_code == 200
        # Only verifiable under the removed secret: refused, not an error.
        unused = await _refresh(client, other[0], other[1])
        assert unused.status_code == 400, unused.text
        assert unused.json()["code"] == "invalid_refresh_token"
        idle_answer = await _locations(client, w, idle_key)
        assert idle_answer.status_code == 401, idle_answer.text
        code_answer = await client.post(
            f"/v2/device/{waiting.code}/link",
            json=link_body(waiting),
        )
        assert code_answer.status_code == 404, code_answer.text
        assert code_answer.json()["code"] == "unknown_link_code"
        assert cookies.decode(cookie, new).token is None

    status = await asyncio.to_thread(_cli, fresh_url, "status")
    assert status.exit_code == 0, status.output
    assert f"{old_id}: not listed; rows in use under it are refused" in status.output


async def world_linked(client: httpx.AsyncClient, runtime: Runtime) -> tuple[World, str]:
    async with runtime.sessionmaker() as s:
        w = await world(s, runtime)
    return w, (await link(client, w))["refreshToken"]


async def test_what_only_a_removed_secret_opens_is_refused_or_dead_never_an_error(
    make_settings: Callable[..., Settings], fresh_url: str
) -> None:
    """The old secret dropped without re-encrypting: the server still starts and signs with a
    new key, tokens and codes of the old secret get their usual 4xx, and a message sealed under
    it is marked dead with the reason instead of failing every round."""
    old_id, new_id = key_id(OLD.encode()), key_id(NEW.encode())
    async with serving(make_settings(database_url=fresh_url, secret_key=OLD)) as (client, runtime):
        async with runtime.sessionmaker() as s:
            w = await world(s, runtime)
        refresh_token = (await link(client, w))["refreshToken"]
        device_token = (await _refresh(client, w, refresh_token)).json()["token"]
    # A message queued by a process with no worker running: it waits, sealed under OLD.
    queuing = Runtime.create(make_settings(database_url=fresh_url, secret_key=OLD))
    try:
        async with queuing.sessionmaker() as s:
            delivery = await DeliveryService(s, queuing).deliver(
                tenant_id=w.tenant.id,
                purpose=DeliveryPurpose.OTP,
                channel=DeliveryChannel.EMAIL,
                destination=f"{w.tenant.uid}@example.com",
                subject="code",
                body="123456",
            )
            await s.commit()
    finally:
        await queuing.close()

    async with serving(make_settings(database_url=fresh_url, secret_key=NEW)) as (client, runtime):
        assert await _key_ids(runtime, SigningKey) == sorted([old_id, new_id])
        answer = await client.get("/v2/device", headers=bearer(device_token))
        assert answer.status_code == 401, answer.text
        refused = await _refresh(client, w, refresh_token)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "invalid_refresh_token"

        # This process's own worker may take the message first; either one marks it dead.
        deadline = time.monotonic() + 15
        while True:
            await OutboxWorker(runtime).run_once()
            async with runtime.read_sessionmaker() as s:
                entry = await s.scalar(
                    select(OutboxEntry).where(OutboxEntry.delivery_id == delivery.id)
                )
                sent = await s.get(Delivery, delivery.id)
            if entry is None or entry.status is not OutboxStatus.PENDING:
                break
            assert time.monotonic() < deadline, "the message was never handled"
            await asyncio.sleep(0.1)
        assert entry is not None
        assert sent is not None
        assert entry.status is OutboxStatus.DEAD
        assert "retired server secret" in entry.last_error
        assert entry.sealed is None
        assert sent.status is DeliveryStatus.FAILED

    status = await asyncio.to_thread(_cli, fresh_url, "status")
    assert status.exit_code == 0, status.output
    assert f"{old_id}: not listed; rows in use under it are refused" in status.output
    done = await asyncio.to_thread(_cli, fresh_url, "reencrypt")
    assert done.exit_code == 0, done.output
    assert "signing_keys: re-encrypted 0; 1 under a secret no longer listed" in done.output
