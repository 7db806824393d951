"""Users' tokens while replicas keep the tenant and user rows they are checked against (lists,
searches and audit reads): the replica that changes a user refuses or narrows the user's token
on its very next request, every other replica within 100 ms, and a replica that cannot hear
changes reads the user on every request until it hears again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.auth.integration import IntegrationTokenService
from posfleet.config import Settings
from posfleet.kit import changes
from posfleet.migrations import upgrade
from posfleet.models import TenantUser
from posfleet.models.enums import AccountType, UserStatus
from posfleet.runtime import Runtime
from posfleet.users.service import UserChanges, UserService
from tests import factories
from tests.flow.admin.support import Admin, admin, bearer
from tests.support.replicas import assert_p99_under_100_ms, deaf, listening, replica_app

CHANGES = 200


def _kept(runtime: Runtime, a: Admin) -> bool:
    return runtime.live_users.get((a.tenant.uid, a.user.uid)) is not None


async def _warm(client: httpx.AsyncClient, runtime: Runtime, a: Admin) -> None:
    """Until the replica lists from the rows it keeps (the latest change, made elsewhere, may
    still be arriving)."""
    for _ in range(500):
        response = await client.get(a.url(), headers=a.headers)
        if response.status_code == 200 and _kept(runtime, a):
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the replica never kept the user's rows")


async def _change(runtime: Runtime, a: Admin, action: str) -> None:
    """``action`` done to the user through the replica's own database sessions."""
    async with runtime.sessionmaker() as s:
        user = await s.get(TenantUser, a.user.id)
        assert user is not None
        users = UserService(s)
        if action == "deactivate":
            users.deactivate(user)
        elif action == "activate":
            users.activate(user)
        elif action == "narrow":
            await users.update(user, UserChanges(permissions=["USER"]))
        elif action == "widen":
            await users.update(user, UserChanges(permissions=["TENANT.ADMIN"]))
        elif action == "reset_password":
            await users.reset_password(user, "Another-passw0rd!")
        else:
            await users.delete(user)
        await s.commit()


@pytest.mark.parametrize(
    ("action", "status"),
    [("deactivate", 401), ("reset_password", 401), ("delete", 401), ("narrow", 403)],
)
async def test_the_replica_that_changes_a_user_refuses_its_token_on_its_very_next_request(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, action: str, status: int
) -> None:
    a = await admin(session, runtime)
    await listening(runtime)
    await _warm(client, runtime, a)
    await _change(runtime, a, action)
    assert (await client.get(a.url(), headers=a.headers)).status_code == status
    search = await client.post(a.url("/search"), json={"name": "x"}, headers=a.headers)
    assert search.status_code == status


async def test_a_change_to_another_user_leaves_the_rows_kept_for_this_one(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    other = await factories.user(session, a.tenant, permissions=["TENANT.ADMIN"])
    await session.commit()
    await listening(runtime)
    await _warm(client, runtime, a)
    async with runtime.sessionmaker() as s:
        changed = await s.get(TenantUser, other.id)
        assert changed is not None
        UserService(s).deactivate(changed)
        await s.commit()
    assert _kept(runtime, a)
    assert (await client.get(a.url(), headers=a.headers)).status_code == 200


async def test_an_integration_token_is_checked_against_its_own_row_on_every_request(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Its row (revoked or not) is not in the change feed: its tenant and user are not kept
    (test_auth.py revokes one)."""
    tenant = await factories.tenant(session)
    user = await factories.user(
        session, tenant, account_type=AccountType.INTEGRATION, permissions=["DEVICE"]
    )
    await session.commit()
    issued = await IntegrationTokenService(session, runtime).create(
        tenant.uid, user.user_code, "ERP sync"
    )
    await session.commit()
    await listening(runtime)
    url = f"/v2/tenants/{tenant.uid}/devices"
    assert (await client.get(url, headers=bearer(issued.token))).status_code == 200
    assert runtime.live_users.get((tenant.uid, user.uid)) is None


@pytest.mark.latency
async def test_another_replica_refuses_a_user_whose_permission_was_taken_within_100_ms(
    backend: str, make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    """p99 over 200 changes on one replica that take the user's device permission of how long
    the other still lists for the user: heard as a notification on PostgreSQL, seen by the poll
    of the file's data version on SQLite.  (Permissions, not deactivation: reactivating does
    not bring a revoked token back.)"""
    a = await admin(session, runtime)
    async with (
        replica_app(make_settings()) as (app_a, _),
        replica_app(make_settings()) as (app_b, b),
    ):
        replica_a: Runtime = app_a.state.runtime
        replica_b: Runtime = app_b.state.runtime
        await listening(replica_b)
        delays = []
        for _ in range(CHANGES):
            # B lists from the rows it keeps before each change.
            await _warm(b, replica_b, a)
            await _change(replica_a, a, "narrow")
            changed_at = time.monotonic()
            while (await b.get(a.url(), headers=a.headers)).status_code == 200:
                assert time.monotonic() - changed_at < 5
                await asyncio.sleep(0.001)
            delays.append(time.monotonic() - changed_at)
            await _change(replica_a, a, "widen")
        assert_p99_under_100_ms(delays)


async def test_a_replica_that_cannot_hear_changes_reads_the_user_on_every_request(
    backend: str,
    make_settings: Callable[..., Settings],
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its notification connection cut, a replica refuses a user deactivated elsewhere at once."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL notifications")
    monkeypatch.setattr(changes, "RECONNECT_SECONDS", 3.0)
    a = await admin(session, runtime)
    async with replica_app(make_settings()) as (app, client):
        replica: Runtime = app.state.runtime
        await listening(replica)
        await _warm(client, replica, a)
        async with deaf(replica) as outsider:  # back after RECONNECT_SECONDS
            async with outsider.begin() as conn:
                await conn.execute(
                    update(TenantUser)
                    .where(TenantUser.id == a.user.id)
                    .values(status=UserStatus.INACTIVE)
                )
            assert _kept(replica, a)  # still held, but not trusted while deaf
            assert (await client.get(a.url(), headers=a.headers)).status_code == 401
            async with outsider.begin() as conn:
                await conn.execute(
                    update(TenantUser)
                    .where(TenantUser.id == a.user.id)
                    .values(status=UserStatus.ACTIVE)
                )
            assert (await client.get(a.url(), headers=a.headers)).status_code == 200


async def test_users_rows_are_kept_only_where_the_database_reports_changes_to_users(
    runtime: Runtime, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """A process may start ahead of its schema: on a database without migration 0014's triggers
    it never keeps users' rows (their changes would not reach it)."""
    assert runtime.users_reported  # the suite's database, at head
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}")
    await asyncio.to_thread(upgrade, settings, "0013_devices_out_of_order")
    behind = Runtime.create(settings)
    try:
        await behind.start()
        await listening(behind)
        assert not behind.users_reported
        assert not behind.users_current()
    finally:
        await behind.close()
    await asyncio.to_thread(upgrade, settings)
    ahead = Runtime.create(settings)
    try:
        await ahead.start()
        await listening(ahead)
        assert ahead.users_current()
    finally:
        await ahead.close()
