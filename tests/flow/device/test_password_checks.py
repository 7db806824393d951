"""Password checks on the device side: shed when the check pool is full, old hashes upgraded."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit import hashing
from posfleet.models import LinkCode, TenantUser
from posfleet.models.rate_limit_bucket import RateLimitBucket
from posfleet.runtime import Runtime
from tests.flow.device.support import PASSWORD, assert_generic_error, link_body, world

# Bounds a wall-clock latency: ./scripts/test runs it alone, after the parallel pass.
pytestmark = pytest.mark.latency


async def _address_charges(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as s:
        total = await s.scalar(
            select(func.coalesce(func.sum(RateLimitBucket.count), 0)).where(
                RateLimitBucket.key.like("link:address:%")
            )
        )
    return int(total or 0)


async def test_a_link_is_refused_with_429_while_the_password_check_queue_is_full(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    pool = hashing._hash_limiter()
    borrowers = [object() for _ in range(pool.total_tokens)]
    for borrower in borrowers:
        await pool.acquire_on_behalf_of(borrower)
    try:
        queued = [
            asyncio.create_task(hashing.verify_password(None, "x"))
            for _ in range(hashing.MAX_WAITING_HASHES)
        ]
        await asyncio.sleep(0.05)
        charged_before = await _address_charges(runtime)
        response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
        charged_after = await _address_charges(runtime)
    finally:
        for borrower in borrowers:
            pool.release_on_behalf_of(borrower)
    await asyncio.gather(*queued)
    assert response.status_code == 429, response.text
    assert response.headers["Retry-After"] == str(hashing.RETRY_AFTER_SECONDS)
    assert_generic_error(response.json(), "server_busy")
    async with runtime.sessionmaker() as s:
        code = await s.scalar(select(LinkCode).where(LinkCode.device_id == w.device.id))
        assert code is not None
        assert code.failed_attempts == 0  # a shed attempt is not a wrong guess
    assert charged_after == charged_before  # shed before any database work
    retried = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert retried.status_code == 200, retried.text


async def test_a_password_hashed_with_older_parameters_is_rehashed_on_a_successful_link(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    w = await world(session, runtime)
    old_hash = PasswordHasher().hash(PASSWORD)  # argon2-cffi's defaults: m=64 MiB, t=3, p=4
    user = await session.get(TenantUser, w.full_user.id)
    assert user is not None
    user.password_hash = old_hash
    await session.commit()
    response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert response.status_code == 200, response.text
    async with runtime.sessionmaker() as s:
        stored = await s.scalar(
            select(TenantUser.password_hash).where(TenantUser.id == w.full_user.id)
        )
    assert stored is not None
    assert stored != old_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await hashing.verify_password(stored, PASSWORD)


async def test_a_link_waiting_for_its_password_check_does_not_hold_up_links_from_its_address(
    backend: str, client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite has one writer: its links queue on the database, not on the budget")
    first = await world(session, runtime)
    second = await world(session, runtime)
    pool = hashing._hash_limiter()
    borrowers = [object() for _ in range(pool.total_tokens)]
    for borrower in borrowers:
        await pool.acquire_on_behalf_of(borrower)
    try:
        links = [
            asyncio.create_task(client.post(f"/v2/device/{w.code}/link", json=link_body(w)))
            for w in (first, second)
        ]
        for _ in range(100):  # both reach the password check while the first is held there
            if pool.statistics().tasks_waiting == 2:
                break
            await asyncio.sleep(0.05)
        waiting = pool.statistics().tasks_waiting
    finally:
        for borrower in borrowers:
            pool.release_on_behalf_of(borrower)
    responses = await asyncio.gather(*links)
    assert waiting == 2
    assert [r.status_code for r in responses] == [200, 200]
