"""Benchmark of the outbox: webhook throughput to a local receiver, and what webhooks add to a
device block.  One run, loopback only.

    .venv/bin/python bench/outbox.py [--events 2000] [--blocks 300] [--sqlite]

Starts a throwaway PostgreSQL (or a SQLite file with ``--sqlite``) and a webhook receiver on
loopback that verifies every signature with the standardwebhooks library (tests/outbox), then:

1. throughput: ``--events`` webhook messages are committed, then one outbox worker (as a server
   process runs it) sends them; events/s from the first send to the last verified arrival;
2. block latency: ``--blocks`` block/unblock pairs (``PUT /v2/tenants/{t}/devices/{d}`` with a
   status) through the real app in-process, for a tenant without webhook endpoints ("off"), one
   with an endpoint subscribed to every device event whose messages are only queued ("on"), and
   one whose messages a worker in the same process sends meanwhile ("on+sending"), alternating
   in rounds of 50 so that all see the same machine; p50 and p99 of each, and the differences.
   The receiver runs in the same process too, so "on+sending" also pays for its verifying.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import factories  # noqa: E402
from tests.flow.admin.support import Admin, admin  # noqa: E402
from tests.outbox.receiver import running_receiver  # noqa: E402
from tests.support.postgres import running_postgres  # noqa: E402

from posfleet.app import create_app  # noqa: E402
from posfleet.config import Environment, Settings  # noqa: E402
from posfleet.migrations import upgrade  # noqa: E402
from posfleet.models.enums import DeviceStatus  # noqa: E402
from posfleet.outbox.worker import OutboxWorker  # noqa: E402
from posfleet.runtime import Runtime  # noqa: E402
from posfleet.webhooks.events import EVENT_TYPES  # noqa: E402
from posfleet.webhooks.service import WebhookService  # noqa: E402

ROUND = 50


def _settings(url: str, **extra: object) -> Settings:
    return Settings(
        database_url=url,
        environment=Environment.TEST,
        secret_key="bench-secret-" + "x" * 32,
        log_level="warning",
        webhook_allow_private_addresses=True,
        **extra,  # type: ignore[arg-type]
    )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def throughput(url: str, events: int) -> None:
    runtime = Runtime.create(_settings(url, outbox_worker=False))
    await runtime.load_signing_keys()
    with running_receiver() as receiver:
        async with runtime.sessionmaker() as session:
            owner = await admin(session, runtime)
            webhooks = WebhookService(session, runtime)
            devices = [d for d in EVENT_TYPES if d.startswith("device.")]
            _, secret = await webhooks.create(owner.tenant.id, receiver.url("throughput"), devices)
            receiver.secrets["throughput"] = secret
            for number in range(events):
                await webhooks.publish(owner.tenant.id, "device.created", {"n": number})
            await session.commit()
        worker = OutboxWorker(runtime)
        task = asyncio.create_task(worker.run_forever())
        started = time.perf_counter()
        await receiver.wait_for("throughput", events, within=600)
        elapsed = time.perf_counter() - started
        await worker.stop(task)
        refused = len(receiver.at("throughput")) - len(receiver.verified("throughput"))
    await runtime.close()
    print(
        f"throughput: {events} webhooks in {elapsed:.2f} s = {events / elapsed:,.0f} events/s "
        f"(batch {runtime.settings.outbox_batch_size}, one worker; {refused} refused)"
    )


async def _device(runtime: Runtime, owner: Admin) -> str:
    async with runtime.sessionmaker() as session:
        device = await factories.device(session, owner.tenant, status=DeviceStatus.ACTIVE)
        await session.commit()
        return device.uid


MODES = ("off", "on", "on+sending")


async def block_latency(url: str, blocks: int) -> None:
    app = create_app(_settings(url, outbox_worker=False))
    runtime: Runtime = app.state.runtime
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    with running_receiver() as receiver:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                owners: dict[str, tuple[Admin, str]] = {}
                for mode in MODES:
                    async with runtime.sessionmaker() as session:
                        owner = await admin(session, runtime)
                    if mode != "off":
                        async with runtime.sessionmaker() as session:
                            _, secret = await WebhookService(session, runtime).create(
                                owner.tenant.id,
                                receiver.url(f"blocks-{mode}"),
                                [d for d in EVENT_TYPES if d.startswith("device.")],
                            )
                            await session.commit()
                        receiver.secrets[f"blocks-{mode}"] = secret
                    owners[mode] = (owner, await _device(runtime, owner))
                done = 0
                while done < blocks:
                    step = min(ROUND, blocks - done)
                    for mode in MODES:
                        worker = OutboxWorker(runtime)
                        task = (
                            asyncio.create_task(worker.run_forever())
                            if mode == "on+sending"
                            else None
                        )
                        owner, uid = owners[mode]
                        for _ in range(step):
                            for status in ("BLOCKED", "ACTIVE"):
                                started = time.perf_counter()
                                answer = await client.put(
                                    owner.url(f"/{uid}"),
                                    json={"status": status},
                                    headers=owner.headers,
                                )
                                elapsed = time.perf_counter() - started
                                assert answer.status_code == 200, answer.text
                                if status == "BLOCKED":
                                    times[mode].append(elapsed)
                        if task is not None:
                            await worker.stop(task)
                    done += step
                sender = OutboxWorker(runtime)
                task = asyncio.create_task(sender.run_forever())
                # 2 events per block (blocked + updated), 2 per unblock
                for mode in MODES[1:]:
                    await receiver.wait_for(f"blocks-{mode}", 4 * blocks, within=600)
                await sender.stop(task)
    for mode in MODES:
        values = times[mode]
        print(
            f"block, webhooks {mode}: n={len(values)} p50 {_pct(values, 0.5):.1f} ms "
            f"p99 {_pct(values, 0.99):.1f} ms mean {statistics.mean(values) * 1000:.1f} ms"
        )
    for mode in MODES[1:]:
        print(
            f"added by webhooks ({mode}): p50 "
            f"{_pct(times[mode], 0.5) - _pct(times['off'], 0.5):+.1f} ms, p99 "
            f"{_pct(times[mode], 0.99) - _pct(times['off'], 0.99):+.1f} ms"
        )


async def run(url: str, events: int, blocks: int) -> None:
    await throughput(url, events)
    await block_latency(url, blocks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=300)
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file, not PostgreSQL")
    args = parser.parse_args()
    if args.sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade(_settings(url))
        asyncio.run(run(url, args.events, args.blocks))
        return
    with running_postgres() as server:
        url = server.create_database("posfleet_bench")
        upgrade(_settings(url))
        asyncio.run(run(url, args.events, args.blocks))


if __name__ == "__main__":
    main()
