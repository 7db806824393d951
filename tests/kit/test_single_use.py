"""The single-use mechanism every one-time code shares, on both engines (link codes here)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import session_scope
from posfleet.kit.clock import utcnow
from posfleet.kit.single_use import CodeSpaceExhausted, SingleUse
from posfleet.models import Device, LinkCode
from posfleet.models.enums import CodeState
from posfleet.runtime import Runtime
from tests import factories

LINK_CODES = SingleUse(LinkCode)


async def _device(session: AsyncSession) -> Device:
    tenant = await factories.tenant(session)
    return await factories.device(session, tenant)


def _row(device: Device, code: str) -> LinkCode:
    return LinkCode(
        tenant_id=device.tenant_id, device_id=device.id, code_hash=code, secret_key_id="k"
    )


async def _code(runtime: Runtime, code_id: int) -> LinkCode:
    async with runtime.sessionmaker() as s:
        row = await s.scalar(select(LinkCode).where(LinkCode.id == code_id))
    assert row is not None
    return row


async def test_a_draw_that_collides_with_a_live_code_draws_again(
    session: AsyncSession, runtime: Runtime
) -> None:
    first, second = await _device(session), await _device(session)
    taken = uuid.uuid4().hex
    await LINK_CODES.draw(session, lambda: taken, lambda code: _row(first, code))
    draws: Iterator[str] = iter([taken, taken, "fresh-" + taken])
    row, code = await LINK_CODES.draw(session, lambda: next(draws), lambda c: _row(second, c))
    assert code == "fresh-" + taken
    assert row.code_hash == code
    with pytest.raises(CodeSpaceExhausted):
        await LINK_CODES.draw(session, lambda: taken, lambda c: _row(second, c), draws=3)


async def test_concurrent_failures_lock_a_code_at_exactly_its_budget(
    session: AsyncSession, runtime: Runtime
) -> None:
    """Twenty failures at once against a budget of five: five are counted, the fifth locks."""
    device = await _device(session)
    row, _ = await LINK_CODES.draw(session, lambda: uuid.uuid4().hex, lambda c: _row(device, c))
    await session.commit()

    async def charge() -> list[str]:
        async with session_scope(runtime.sessionmaker) as s:
            return await LINK_CODES.charge(s, LinkCode.id == row.id, 5, utcnow())

    answers = await asyncio.gather(*(charge() for _ in range(20)))
    assert sum(a == [CodeState.LOCKED] for a in answers) == 1
    assert sum(a == [CodeState.LIVE] for a in answers) == 4
    assert sum(a == [] for a in answers) == 15  # no longer live: not counted
    locked = await _code(runtime, row.id)
    assert (locked.state, locked.failed_attempts) == (CodeState.LOCKED, 5)
    assert locked.spent_at is not None


async def test_of_concurrent_spends_exactly_one_wins_and_a_revoked_code_cannot_be_spent(
    session: AsyncSession, runtime: Runtime
) -> None:
    device = await _device(session)
    row, _ = await LINK_CODES.draw(session, lambda: uuid.uuid4().hex, lambda c: _row(device, c))
    await session.commit()

    async def spend() -> bool:
        async with session_scope(runtime.sessionmaker) as s:
            return await LINK_CODES.spend(s, row.id, utcnow())

    assert sorted(await asyncio.gather(*(spend() for _ in range(50)))) == [False] * 49 + [True]
    assert (await _code(runtime, row.id)).state is CodeState.SPENT

    other, _ = await LINK_CODES.draw(session, lambda: uuid.uuid4().hex, lambda c: _row(device, c))
    assert await LINK_CODES.revoke(session, utcnow(), device_id=device.id) == 1
    assert not await LINK_CODES.spend(session, other.id, utcnow())
    await session.commit()
    assert (await _code(runtime, other.id)).state is CodeState.REVOKED
