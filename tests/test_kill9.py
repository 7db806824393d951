"""kill -9 survival: replicas under mixed write load, one of them killed with SIGKILL.

Two replicas share one PostgreSQL (one replica on SQLite, started again after the kill).  Mixed
writes — device creates, links, refreshes, Commerce pair-device and OTP sign-ins — run against
them; one process gets SIGKILL mid-load.  Afterwards:

* every write that was answered 2xx is in the database, and its credential works;
* nothing is half-issued: a device is linked only with a refresh token of its current link,
  a spent link or pairing code always has its device ACTIVE, a spent OTP its session;
* the survivor (or the restarted process) keeps serving.

The counts of a run are printed (``-s``) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apikeys.service import ApiKeyService
from posfleet.config import Settings
from posfleet.devices.service import DeviceService
from posfleet.models import (
    Device,
    DeviceRefreshToken,
    LinkCode,
    OtpChallenge,
    PairingCode,
    PosSession,
)
from posfleet.models.enums import AccountType, AppCode, CodeState, DeviceStatus, PaymentCode
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tokens.service import TokenService
from tests import factories
from tests.support.server import START_TIMEOUT, free_port, settings_environment

PASSWORD = "correct horse battery"
ROUNDS = 24  # of each kind of write


@contextlib.contextmanager
def replica(settings: Settings, workdir: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """One posfleet process on a loopback port; the caller may SIGKILL it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")}
    env.update(settings_environment(settings))
    with (workdir / f"replica-{port}.log").open("w") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "posfleet.app:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, "the replica exited"
            assert time.monotonic() < deadline, "the replica did not start"
            time.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@dataclass
class Arranged:
    tenant_id: int
    tenant_uid: str
    store_uid: str
    app_id: str
    user_code: str
    admin: dict[str, str]
    api_key: str
    link_codes: list[str]
    pairing_codes: list[str]
    emails: list[str]


async def _arrange(session: AsyncSession, runtime: Runtime) -> Arranged:
    tenant = await factories.tenant(session)
    store = await factories.store(session, tenant)
    await PaymentCatalogService(session).create_payment_method(
        tenant.id,
        store.uid,
        PaymentMethodFields(
            code=PaymentCode.EXTERNAL, name="Zero", is_zero_amount=True, position=1
        ),
    )
    app = await factories.registered_app(session, AppCode.CLIENT)
    admin = await factories.user(
        session, tenant, permissions=["TENANT.ADMIN"], all_stores=True, password=PASSWORD
    )
    cashiers = [
        await factories.user(session, tenant, account_type=AccountType.REGULAR, stores=[store])
        for _ in range(ROUNDS)
    ]
    devices = DeviceService(session, runtime)
    link_codes = [
        (
            await devices.create(
                tenant.id, name="t", app_code=AppCode.CLIENT, actor="a", store_uid=store.uid
            )
        )[1]
        for _ in range(ROUNDS)
    ]
    pairing = PairingService(session, runtime)
    pairing_codes = []
    for _ in range(ROUNDS):
        device = await factories.device(session, tenant, store=store)
        pairing_codes.append(await pairing.issue(tenant, device.uid, "admin"))
    api_key = (await ApiKeyService(session, runtime).create(tenant.uid, "pos")).secret
    token, _ = TokenService(session, runtime).auth_token(admin, tenant)
    arranged = Arranged(
        tenant.id,
        tenant.uid,
        store.uid,
        app.app_id,
        admin.user_code,
        {"Authorization": f"Bearer {token}"},
        api_key,
        link_codes,
        pairing_codes,
        [c.email for c in cashiers],
    )
    # Committed last, and no row is read again: on SQLite an open read would hold off the
    # servers' writes.
    await session.commit()
    return arranged


@dataclass
class Ledger:
    """What the clients were told: every 2xx answer, and how many went unanswered."""

    created: list[str] = field(default_factory=list)
    linked: list[dict[str, Any]] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    paired: list[str] = field(default_factory=list)
    signed_in: list[str] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    third_answered: asyncio.Event = field(default_factory=asyncio.Event)


async def _load(a: Arranged, targets: Callable[[], str], ledger: Ledger) -> None:
    commerce = f"/api/v1/{a.tenant_uid}/storefront"
    key = {"x-api-key": a.api_key}

    async def call(method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        try:
            async with httpx.AsyncClient(base_url=targets(), timeout=10) as c:
                response = await c.request(method, path, **kwargs)
        except httpx.HTTPError:
            ledger.answers["no answer"] += 1
            return None
        ledger.answers[str(response.status_code)] += 1
        if sum(ledger.answers.values()) >= ROUNDS * 6 // 3:
            ledger.third_answered.set()
        return response if response.is_success else None

    async def create() -> None:
        r = await call(
            "POST",
            f"/v2/tenants/{a.tenant_uid}/devices",
            json={"name": "x", "appCode": "CLIENT", "storeUid": a.store_uid},
            headers=a.admin,
        )
        if r is not None:
            ledger.created.append(r.json()["deviceUid"])

    async def link_and_refresh(code: str) -> None:
        body = {"appId": a.app_id, "userCode": a.user_code, "password": PASSWORD}
        r = await call("POST", f"/v2/device/{code}/link", json=body)
        if r is None:
            return
        ledger.linked.append(r.json())
        again = await call(
            "POST",
            "/v2/device/token",
            json={"appId": a.app_id, "refreshToken": r.json()["refreshToken"]},
        )
        if again is not None:
            ledger.refreshed.append(again.json()["token"])

    async def pair(code: str) -> None:
        r = await call(
            "POST", f"{commerce}/pos/auth/pair-device", json={"pairing_code": code}, headers=key
        )
        if r is not None:
            ledger.paired.append(r.json()["content"]["device"]["id"])

    async def sign_in(email: str) -> None:
        started = await call(
            "POST",
            f"{commerce}/pos/auth/login/email",
            json={"location_id": a.store_uid, "email": email},
            headers={**key, "x-debug-mode": "true"},
        )
        if started is None:
            return
        content = started.json()["content"]
        r = await call(
            "POST",
            f"{commerce}/pos/auth/verify-otp",
            json={"otp": content["otp"], "otp_token": content["otp_token"]},
            headers=key,
        )
        if r is not None:
            ledger.signed_in.append(r.json()["content"]["access_token"])

    work: list[Callable[[], Awaitable[None]]] = [create for _ in range(ROUNDS)]
    work += [lambda c=c: link_and_refresh(c) for c in a.link_codes]
    work += [lambda c=c: pair(c) for c in a.pairing_codes]
    work += [lambda e=e: sign_in(e) for e in a.emails]
    random.shuffle(work)
    queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def worker() -> None:
        while not queue.empty():
            await (queue.get_nowait())()

    await asyncio.gather(*(worker() for _ in range(6)))


async def _verify(runtime: Runtime, a: Arranged, ledger: Ledger, base: str) -> dict[str, int]:
    """Every 2xx is in the database and works; nothing is half-issued."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        for linked in ledger.linked:
            auth = {"Authorization": f"Bearer {linked['token']}"}
            assert (await c.get("/v2/device", headers=auth)).status_code == 200
        for token in ledger.refreshed:
            auth = {"Authorization": f"Bearer {token}"}
            assert (await c.get("/v2/device", headers=auth)).status_code == 200
        for token in ledger.signed_in:
            auth = {"Authorization": f"Bearer {token}", "x-api-key": a.api_key}
            me = await c.get(f"/api/v1/{a.tenant_uid}/storefront/pos/locations", headers=auth)
            assert me.status_code == 200
    async with runtime.sessionmaker() as s:
        found = await s.scalars(select(Device.uid).where(Device.uid.in_(ledger.created)))
        assert set(found.all()) == set(ledger.created)
        paired = await s.scalars(select(Device).where(Device.uid.in_(ledger.paired)))
        assert all(d.status is DeviceStatus.ACTIVE for d in paired)
        # A spent link code: its device is ACTIVE with a refresh token of its current link.
        spent_links = (
            await s.execute(
                select(Device, func.count(DeviceRefreshToken.id))
                .join(LinkCode, LinkCode.device_id == Device.id)
                .outerjoin(
                    DeviceRefreshToken,
                    (DeviceRefreshToken.device_id == Device.id)
                    & (DeviceRefreshToken.credential_generation == Device.credential_generation),
                )
                .where(LinkCode.state == CodeState.SPENT, Device.tenant_id == a.tenant_id)
                .group_by(Device.id)
            )
        ).all()
        for device, refresh_tokens in spent_links:
            assert device.status is DeviceStatus.ACTIVE, device.uid
            assert refresh_tokens >= 1, device.uid
        spent_pairing = await s.scalars(
            select(Device)
            .join(PairingCode, PairingCode.device_id == Device.id)
            .where(PairingCode.state == CodeState.SPENT, Device.tenant_id == a.tenant_id)
        )
        assert all(d.status is DeviceStatus.ACTIVE for d in spent_pairing)
        spent_otps = (
            await s.scalars(
                select(OtpChallenge).where(
                    OtpChallenge.state == CodeState.SPENT, OtpChallenge.tenant_id == a.tenant_id
                )
            )
        ).all()
        for challenge in spent_otps:
            sessions = await s.scalar(
                select(func.count(PosSession.id)).where(PosSession.user_id == challenge.user_id)
            )
            assert sessions, challenge.id
    return {
        "created": len(ledger.created),
        "linked": len(ledger.linked),
        "refreshed": len(ledger.refreshed),
        "paired": len(ledger.paired),
        "signed_in": len(ledger.signed_in),
        "spent_link_codes_checked": len(spent_links),
        "spent_otps_checked": len(spent_otps),
    }


@pytest.fixture
def load_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(
        rate_limit_per_address=1_000_000,
        login_rate_limit_per_address=1_000_000,
        otp_sends_per_recipient=1_000_000,
        account_free_attempts=1_000_000,
        debug_otp_reveal=True,
    )


async def test_a_replica_killed_mid_load_loses_no_answered_write(
    backend: str,
    load_settings: Settings,
    session: AsyncSession,
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    """PostgreSQL: two replicas, SIGKILL one mid-load, the other keeps serving.
    SQLite: the only process is killed mid-load and started again."""
    arranged = await _arrange(session, runtime)
    ledger = Ledger()
    with replica(load_settings, tmp_path) as (victim, first):
        with contextlib.ExitStack() as stack:
            second = (
                stack.enter_context(replica(load_settings, tmp_path))[1]
                if backend == "postgresql"
                else None
            )
            killed = False
            turn = 0

            def target() -> str:
                nonlocal turn
                turn += 1
                if killed:
                    return second or first
                return first if second is None or turn % 2 else second

            async def kill_mid_load() -> None:
                """SIGKILL once a third of the writes were answered: the rest are in flight
                or still to come."""
                nonlocal killed
                await ledger.third_answered.wait()
                victim.send_signal(signal.SIGKILL)
                killed = True

            await asyncio.gather(_load(arranged, target, ledger), kill_mid_load())
            assert victim.wait(timeout=10) == -signal.SIGKILL
            if second is not None:
                counts = await _verify(runtime, arranged, ledger, second)
        if second is None:
            with replica(load_settings, tmp_path) as (_, restarted):
                counts = await _verify(runtime, arranged, ledger, restarted)
    print(f"\n[{backend}] answers {dict(ledger.answers)}; verified {counts}")
    assert (
        ledger.answers["no answer"]
        + sum(n for status, n in ledger.answers.items() if status.startswith("2"))
        > 0
    )
    assert counts["linked"] + counts["created"] + counts["paired"] + counts["signed_in"] > 0
