"""Every sign-in path has a budget per account, from any address: growing delays, no lockout."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.runtime import Runtime
from tests.flow.device.support import PASSWORD, World, bearer, link, link_body, world
from tests.support.clients import asgi_transport

# Bounds a wall-clock latency: ./scripts/test runs it alone, after the parallel pass.
pytestmark = pytest.mark.latency

Attempt = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


async def _spread_attack(app: FastAPI, attempt: Attempt, guesses: int) -> list[int]:
    """One wrong guess from each of ``guesses`` fresh addresses."""
    statuses = []
    for _ in range(guesses):
        async with httpx.AsyncClient(transport=asgi_transport(app), base_url="http://t") as c:
            statuses.append((await attempt(c, "wrong-guess")).status_code)
    return statuses


async def _assert_delayed_not_locked(
    app: FastAPI,
    runtime: Runtime,
    attempt: Attempt,
    wrong: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    free = runtime.settings.account_free_attempts
    statuses = await _spread_attack(app, attempt, 12)
    assert statuses[:free] == [wrong] * free
    assert 429 in statuses[free:]
    assert statuses.count(wrong) <= free + 1, statuses
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="http://t") as c:
        right = await attempt(c, PASSWORD)
        assert right.status_code == 429
        assert right.json()["code"] == "sign_in_delayed"
        wait = int(right.headers["Retry-After"])
        assert 1 <= wait <= runtime.settings.account_delay_max_seconds
        # The right password works once the delay has passed: a delay, not a lockout.
        later = utcnow() + timedelta(seconds=wait + 1)
        monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: later)
        assert (await attempt(c, PASSWORD)).status_code == 200


async def test_pin_guesses_spread_over_addresses_meet_the_account_budget(
    client: httpx.AsyncClient,
    app: FastAPI,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POST /v2/account: wrong PINs from 12 addresses, then the right one is 429 until the
    delay has passed, and 200 after it."""
    w = await world(session, runtime)
    token = (await link(client, w))["token"]

    async def attempt(c: httpx.AsyncClient, password: str) -> httpx.Response:
        return await c.post(
            "/v2/account",
            json={"userCode": w.regular_user.user_code, "password": password},
            headers=bearer(token),
        )

    await _assert_delayed_not_locked(app, runtime, attempt, 400, monkeypatch)


async def test_back_office_password_guesses_meet_the_account_budget(
    app: FastAPI, session: AsyncSession, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await world(session, runtime)

    async def attempt(c: httpx.AsyncClient, password: str) -> httpx.Response:
        return await c.post(
            "/auth/login", json={"userCode": w.full_user.user_code, "password": password}
        )

    await _assert_delayed_not_locked(app, runtime, attempt, 401, monkeypatch)


async def test_a_link_waits_when_its_user_account_is_being_guessed_at(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """The budget is the account's, whatever the path: wrong passwords at the back-office
    sign-in make a link with the right password wait too, and the link code is not charged."""
    w: World = await world(session, runtime)

    async def attempt(c: httpx.AsyncClient, password: str) -> httpx.Response:
        return await c.post(
            "/auth/login", json={"userCode": w.full_user.user_code, "password": password}
        )

    await _spread_attack(app, attempt, runtime.settings.account_free_attempts + 1)
    response = await client.post(f"/v2/device/{w.code}/link", json=link_body(w))
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "sign_in_delayed"


def test_delays_double_after_the_free_attempts_up_to_the_cap(runtime: Runtime) -> None:
    budget = runtime.limiter.accounts(runtime.settings)
    free = runtime.settings.account_free_attempts
    base = runtime.settings.account_delay_base_seconds
    assert [budget.delay(n) for n in range(free)] == [0.0] * free
    assert budget.delay(free) == base
    assert budget.delay(free + 3) == base * 8
    assert budget.delay(free + 100) == runtime.settings.account_delay_max_seconds
