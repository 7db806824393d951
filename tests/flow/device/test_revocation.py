"""Revocation while replicas keep the rows device tokens are checked against: the replica that
revokes refuses the token on its very next request, every other replica within 100 ms, and a
replica that cannot hear changes reads the database on every request until it hears again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.db import create_engine, create_sessionmaker, session_scope
from posfleet.devices.access_repository import DeviceAccessRepository
from posfleet.devices.service import DeviceService
from posfleet.kit import changes
from posfleet.kit.clock import utcnow
from posfleet.models import Device
from posfleet.models.enums import DeviceStatus
from posfleet.runtime import AUTH_TABLES, Runtime
from tests.flow.device.support import World, bearer, link, world
from tests.support.replicas import assert_p99_under_100_ms, deaf, listening, replica_app

REVOCATIONS = 200


async def _admin(runtime: Runtime, w: World, action: str) -> None:
    async with runtime.sessionmaker() as s:
        device = await s.get(Device, w.device.id)
        assert device is not None
        await getattr(DeviceService(s, runtime), action)(device, "admin")
        await s.commit()


def _kept(runtime: Runtime, w: World) -> bool:
    return runtime.live_devices.get((w.tenant.uid, w.device.uid)) is not None


async def _warm(client: httpx.AsyncClient, runtime: Runtime, w: World, token: str) -> None:
    """Until the replica accepts the token from the rows it keeps (the latest changes, an
    unblock elsewhere among them, may still be arriving as notifications)."""
    for _ in range(500):
        response = await client.get("/v2/device", headers=bearer(token))
        if response.status_code == 200 and _kept(runtime, w):
            return
        await asyncio.sleep(0.002)
    raise AssertionError("the replica never kept the token's rows")


@pytest.mark.parametrize("action", ["block", "reset_link", "delete"])
async def test_the_replica_that_revokes_refuses_the_token_on_its_very_next_request(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, action: str
) -> None:
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    await listening(runtime)
    await _warm(client, runtime, w, token)
    await _admin(runtime, w, action)
    assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401


@pytest.mark.latency
async def test_another_replica_refuses_a_revoked_token_within_100_ms(
    backend: str, make_settings: Callable[..., Settings], session: AsyncSession, runtime: Runtime
) -> None:
    """p99 over 200 blocks on one replica of how long the other still accepts the token: heard
    as a notification on PostgreSQL, seen by the poll of the file's data version on SQLite."""
    w = await world(session, runtime)
    await session.commit()
    async with (
        replica_app(make_settings()) as (app_a, a),
        replica_app(make_settings()) as (app_b, b),
    ):
        replica_a: Runtime = app_a.state.runtime
        replica_b: Runtime = app_b.state.runtime
        token = (await link(a, w))["token"]
        await listening(replica_b)
        delays = []
        for _ in range(REVOCATIONS):
            # B answers from the rows it keeps before each block.
            await _warm(b, replica_b, w, token)
            await _admin(replica_a, w, "block")
            blocked_at = time.monotonic()
            while (await b.get("/v2/device", headers=bearer(token))).status_code == 200:
                assert time.monotonic() - blocked_at < 5
                await asyncio.sleep(0.001)
            delays.append(time.monotonic() - blocked_at)
            await _admin(replica_a, w, "unblock")
        assert_p99_under_100_ms(delays)


async def test_a_replica_that_cannot_hear_changes_reads_the_database_on_every_request(
    backend: str,
    make_settings: Callable[..., Settings],
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its notification connection cut, a replica refuses a token revoked elsewhere at once."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL notifications")
    monkeypatch.setattr(changes, "RECONNECT_SECONDS", 3.0)
    w = await world(session, runtime)
    await session.commit()
    async with replica_app(make_settings()) as (app, client):
        replica: Runtime = app.state.runtime
        token = (await link(client, w))["token"]
        await listening(replica)
        await _warm(client, replica, w, token)
        async with deaf(replica) as outsider:  # back after RECONNECT_SECONDS
            async with outsider.begin() as conn:
                await conn.execute(
                    update(Device)
                    .where(Device.id == w.device.id)
                    .values(status=DeviceStatus.BLOCKED)
                )
            assert _kept(replica, w)  # still held, but not trusted while deaf
            refused = await client.get("/v2/device", headers=bearer(token))
            assert refused.status_code == 401
            assert not replica.changes_current()
            async with outsider.begin() as conn:
                await conn.execute(
                    update(Device)
                    .where(Device.id == w.device.id)
                    .values(status=DeviceStatus.ACTIVE)
                )
            assert (await client.get("/v2/device", headers=bearer(token))).status_code == 200


@pytest.mark.latency  # the links' own notifications must have arrived before the block
async def test_a_change_to_one_device_leaves_the_rows_kept_for_every_other_device(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Blocking one device drops only its own kept rows, on the replica that blocks it and
    after every later poll or notification: other devices keep answering from memory."""
    w, other = await world(session, runtime), await world(session, runtime)
    token, other_token = (await link(client, w))["token"], (await link(client, other))["token"]
    await listening(runtime)
    await _warm(client, runtime, w, token)
    await _warm(client, runtime, other, other_token)
    await _admin(runtime, w, "block")
    assert not _kept(runtime, w)
    assert _kept(runtime, other)
    await asyncio.sleep(0.2)  # the poll, the notification of the block: nothing more is dropped
    assert _kept(runtime, other)
    assert (await client.get("/v2/device", headers=bearer(token))).status_code == 401
    assert (await client.get("/v2/device", headers=bearer(other_token))).status_code == 200


@pytest.mark.latency  # the link's own notification must have arrived before the stamp
async def test_an_activity_stamp_leaves_the_device_s_rows_kept_and_a_rename_drops_them(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """The activity writer's stamp is no change anything kept depends on: the device keeps
    answering from memory after it, here and after every later poll or notification."""
    w = await world(session, runtime)
    token = (await link(client, w))["token"]
    await listening(runtime)
    await _warm(client, runtime, w, token)
    later = utcnow() + timedelta(minutes=5)
    async with session_scope(runtime.sessionmaker) as s:
        await DeviceAccessRepository(s).touch_activities({w.device.id: later}, timedelta(0))
    async with runtime.sessionmaker() as s:
        stamp = await s.scalar(select(Device.last_activity_at).where(Device.id == w.device.id))
        assert stamp == later
    assert _kept(runtime, w)
    await asyncio.sleep(0.2)  # the poll, the notification: still nothing to drop
    assert _kept(runtime, w)
    async with runtime.sessionmaker() as s:
        await s.execute(update(Device).where(Device.id == w.device.id).values(name="Renamed"))
        await s.commit()
    assert not _kept(runtime, w)


async def _two_kept_with_fast_epoch_checks(
    backend: str,
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[World, World]:
    """Two linked devices whose rows the replica keeps, its epoch read every 0.2 s."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL's epoch")
    w, other = await world(session, runtime), await world(session, runtime)
    token, other_token = (await link(client, w))["token"], (await link(client, other))["token"]
    monkeypatch.setattr(changes, "EPOCH_CHECK_SECONDS", 0.2)
    await asyncio.sleep(1.1)  # the listener's current period ends; the next ones are 0.2 s
    await listening(runtime)
    await _warm(client, runtime, w, token)
    await _warm(client, runtime, other, other_token)
    return w, other


@pytest.mark.latency
async def test_a_change_still_committing_when_the_epoch_is_read_drops_nothing_else(
    backend: str,
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replica that reads the epoch while a change has moved it but not yet committed waits
    for that change's notification instead of dropping every row it keeps."""
    w, other = await _two_kept_with_fast_epoch_checks(
        backend, client, session, runtime, monkeypatch
    )
    for n in range(8):  # each change open for 0.15 s: most see an epoch check meanwhile
        async with runtime.sessionmaker() as s:
            await s.execute(update(Device).where(Device.id == w.device.id).values(name=f"T{n}"))
            await asyncio.sleep(0.15)
            await s.commit()
        await asyncio.sleep(0.05)
        assert _kept(runtime, other), n
    await asyncio.sleep(0.5)  # two more checks
    assert _kept(runtime, other)


async def test_an_epoch_move_never_heard_of_drops_every_row_kept(
    backend: str,
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A change whose notification never comes (here: rolled back after moving the epoch, as a
    lost notification looks) makes the replica drop everything within two epoch checks."""
    w, other = await _two_kept_with_fast_epoch_checks(
        backend, client, session, runtime, monkeypatch
    )
    async with runtime.sessionmaker() as s:
        await s.execute(update(Device).where(Device.id == w.device.id).values(name="Never"))
        await s.rollback()
    for _ in range(100):
        if not _kept(runtime, other):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the replica kept every row after a move it never heard of")


async def test_a_change_to_a_tenant_s_configuration_drops_the_rows_of_its_devices(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """A change to a table DeviceInfo reads moves the tenant's row, which drops its devices'."""
    w, other = await world(session, runtime), await world(session, runtime)
    token, other_token = (await link(client, w))["token"], (await link(client, other))["token"]
    await listening(runtime)
    await _warm(client, runtime, w, token)
    await _warm(client, runtime, other, other_token)
    async with runtime.sessionmaker() as s:
        await s.execute(
            text("UPDATE stores SET name = name || '!' WHERE tenant_id = :t"), {"t": w.tenant.id}
        )
        await s.commit()
    assert not _kept(runtime, w)
    assert _kept(runtime, other)


async def test_a_sqlite_replica_whose_unread_changes_were_purged_drops_everything(
    backend: str, session: AsyncSession, runtime: Runtime
) -> None:
    """Change log rows purged before a process read them: it drops all it keeps."""
    if backend != "sqlite":
        pytest.skip("SQLite's change log")
    w = await world(session, runtime)
    path = make_url(runtime.settings.database_url).database
    assert path is not None
    drops: list[tuple[str | None, int | None]] = []
    feed = changes.SqliteChanges(path, lambda table, row: drops.append((table, row)))
    try:
        feed.check()
        drops.clear()
        await session.execute(
            update(Device).where(Device.id == w.device.id).values(name="Back till")
        )
        await session.commit()
        feed.check()
        assert drops == [("devices", w.device.id)]
        drops.clear()
        await session.execute(
            update(Device).where(Device.id == w.device.id).values(name="Side till")
        )
        await session.execute(text("DELETE FROM auth_changes"))
        await session.commit()
        feed.check()
        assert drops == [(None, None)]
    finally:
        await feed.close()


async def test_a_process_s_own_write_names_exactly_the_rows_it_changed(
    session: AsyncSession, runtime: Runtime
) -> None:
    """Without any poll or notification, a committed write drops the one row it changed."""
    w = await world(session, runtime)
    engine = create_engine(runtime.settings)
    drops: list[tuple[str | None, int | None]] = []

    def dropped(table: str | None, row: int | None) -> None:
        drops.append((table, row))

    feed = changes.changes_for(engine, runtime.settings.database_url, dropped)
    changes.watch_local_writes(engine, AUTH_TABLES, feed, dropped)
    try:
        if isinstance(feed, changes.SqliteChanges):
            feed.check()  # where this process starts reading the change log (not polling)
        drops.clear()
        async with session_scope(create_sessionmaker(engine)) as s:
            await s.execute(update(Device).where(Device.id == w.device.id).values(name="Back"))
        assert drops == [("devices", w.device.id)]
    finally:
        await feed.close()
        await engine.dispose()
