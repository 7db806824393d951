"""Attempt budgets live in the database and survive the failing request that spent them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from posfleet.db import session_scope
from posfleet.errors import BadRequest, TooManyRequests
from posfleet.kit.ratelimit import Policy
from posfleet.models import RateLimitBucket, Tenant
from posfleet.runtime import Runtime
from tests.conftest import unique

MINUTE = timedelta(seconds=60)


def _policy(limit: int) -> Policy:
    return Policy("test", ("address",), lambda _: limit, lambda _: 60, "slow down")


WINDOW_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


async def test_the_attempt_over_the_limit_is_refused_with_retry_after(runtime: Runtime) -> None:
    key = unique("addr")
    for _ in range(3):
        await runtime.limiter.hit(_policy(3), runtime.settings, address=key)
    with pytest.raises(TooManyRequests) as raised:
        await runtime.limiter.hit(_policy(3), runtime.settings, address=key)
    assert 1 <= raised.value.retry_after <= 61
    assert raised.value.headers["Retry-After"] == str(raised.value.retry_after)


async def test_a_hit_inside_a_writing_unit_of_work_does_not_wait_for_itself(
    runtime: Runtime,
) -> None:
    """On SQLite a second transaction would wait on the first; the request's own session is used."""
    key = unique("addr")
    async with session_scope(runtime.sessionmaker) as session:
        session.add(Tenant(uid=unique("tenant"), name="x"))
        await session.flush()
        await runtime.limiter.hit(_policy(5), runtime.settings, session=session, address=key)


async def _failing_unit_of_work(
    runtime: Runtime, tenant_uid: str, error: BadRequest, key: str | None = None
) -> None:
    async with session_scope(runtime.sessionmaker) as session:
        session.add(Tenant(uid=tenant_uid, name="kept"))
        await session.flush()
        if key is not None:
            await runtime.limiter.hit(_policy(1), runtime.settings, session=session, address=key)
        raise error


async def test_an_error_that_keeps_work_commits_the_counted_attempt(runtime: Runtime) -> None:
    key, tenant_uid = unique("addr"), unique("tenant")
    with pytest.raises(BadRequest):
        await _failing_unit_of_work(runtime, tenant_uid, BadRequest("no", keeps_work=True), key)
    with pytest.raises(TooManyRequests):
        await runtime.limiter.hit(_policy(1), runtime.settings, address=key)
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Tenant.name).where(Tenant.uid == tenant_uid)) == "kept"


async def test_an_attempt_counts_even_when_its_request_rolls_back(runtime: Runtime) -> None:
    key, tenant_uid = unique("addr"), unique("tenant")
    with pytest.raises(BadRequest):
        await _failing_unit_of_work(runtime, tenant_uid, BadRequest("wrong password"), key)
    with pytest.raises(TooManyRequests):
        await runtime.limiter.hit(_policy(1), runtime.settings, address=key)
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Tenant.id).where(Tenant.uid == tenant_uid)) is None


async def test_an_ordinary_error_rolls_the_unit_of_work_back(runtime: Runtime) -> None:
    tenant_uid = unique("tenant")
    with pytest.raises(BadRequest):
        await _failing_unit_of_work(runtime, tenant_uid, BadRequest("no"))
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Tenant.id).where(Tenant.uid == tenant_uid)) is None


async def _previous_window_with(runtime: Runtime, key: str, count: int) -> None:
    async with runtime.sessionmaker() as session:
        session.add(
            RateLimitBucket(key=f"test:{key}", window_start=WINDOW_START - MINUTE, count=count)
        )
        await session.commit()


async def test_attempts_just_before_a_window_boundary_still_count_after_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst split by the boundary of two fixed windows is not a fresh budget."""
    key = unique("addr")
    await _previous_window_with(runtime, key, 3)
    monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: WINDOW_START + MINUTE / 10)
    with pytest.raises(TooManyRequests):
        await runtime.limiter.hit(_policy(3), runtime.settings, address=key)


async def test_the_previous_window_fades_out_as_the_current_one_passes(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = unique("addr")
    await _previous_window_with(runtime, key, 3)
    monkeypatch.setattr("posfleet.kit.ratelimit.utcnow", lambda: WINDOW_START + MINUTE * 0.9)
    await runtime.limiter.hit(_policy(3), runtime.settings, address=key)


def test_every_policy_has_a_name_of_its_own_and_a_row_in_the_security_docs() -> None:
    from pathlib import Path

    from posfleet.kit.ratelimit import POLICIES

    names = [policy.name for policy in POLICIES]
    assert len(set(names)) == len(names)
    doc = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert [name for name in names if f"| `{name}` |" not in doc] == []


def test_a_policy_refuses_key_parts_it_is_not_keyed_by() -> None:
    with pytest.raises(TypeError):
        _policy(1).key_for({"tenant": "t"})
