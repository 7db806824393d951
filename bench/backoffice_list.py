"""Benchmark: the back office's device list page at a million devices, SQLite and PostgreSQL.

    .venv/bin/python bench/backoffice_list.py --devices 1000000 --backend both

Loads the devices the way ``bench/admin_lists.py`` does (one tenant, 20 stores), serves posfleet
on loopback in a process of its own, signs in through the sign-in form like a browser, and
reports p50/p99 of full HTTP round trips for ``GET /backoffice/devices`` (the whole HTML page:
session cookie check, the API's list or search query, 25 rows, the layout); then the server
worker's resident memory (``VmRSS``, ``VmHWM``) and the load average.  Run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from admin_lists import (
    SECRET,
    WORDS,
    load_average,
    load_postgres,
    load_sqlite,
    memory,
    serving,
)
from tests import factories
from tests.support.postgres import running_postgres

from posfleet.config import Environment, Settings
from posfleet.migrations import upgrade
from posfleet.runtime import Runtime

PASSWORD = "bench password"
PAGE_SIZE = 25


async def arrange(settings: Settings) -> tuple[str, int, list[int], str]:
    runtime = Runtime.create(settings)
    async with runtime.sessionmaker() as session:
        tenant = await factories.tenant(session)
        stores = [await factories.store(session, tenant, name=f"Store {n}") for n in range(20)]
        user = await factories.user(
            session, tenant, password=PASSWORD, permissions=["TENANT.ADMIN"]
        )
        await session.commit()
        result = tenant.uid, tenant.id, [s.id for s in stores], user.user_code
    await runtime.close()
    return result


def sign_in(client: httpx.Client, user_code: str) -> None:
    form = client.get("/backoffice/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "no CSRF token on the sign-in page"
    answer = client.post(
        "/backoffice/sign-in",
        data={"csrf": csrf.group(1), "user_code": user_code, "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text


def measure(base: str, user_code: str, stores: list[str], total: int, n: int) -> dict:
    middle = max(1, (total // PAGE_SIZE) // 2)
    rng = random.Random(7)
    cases = {
        "first page (newest first)": dict,
        f"page {middle:,} (the middle)": lambda: {"page": middle},
        "name contains <word>": lambda: {"name": rng.choice(WORDS)},
        "search 6.1.0-<word>": lambda: {"q": f"6.1.0-{rng.choice(WORDS)}"},
        "store + status + app filter": lambda: {
            "store": rng.choice(stores), "status": "ACTIVE", "app": "CLIENT"},
    }  # fmt: skip
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, user_code)
        for label, make in cases.items():
            for _ in range(3):  # warm up
                client.get("/backoffice/devices", params=make()).raise_for_status()
            samples = []
            for _ in range(n):
                params = make()
                t0 = time.perf_counter()
                r = client.get("/backoffice/devices", params=params)
                samples.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
            timings[label] = samples
            count = re.search(r'id="device-count">([^<,]+)', r.text)
            print(f"    {label:<30} {count.group(1) if count else '?'}")
    return timings


def report(backend: str, timings: dict[str, list[float]]) -> None:
    print(f"\n  {backend}: milliseconds per page (HTML, {PAGE_SIZE} devices)")
    print(f"  {'page':<32}{'p50':>8}{'p99':>8}")
    for label, samples in timings.items():
        p99 = statistics.quantiles(samples, n=100)[98] if len(samples) > 1 else samples[0]
        print(f"  {label:<32}{statistics.median(samples):>8.1f}{p99:>8.1f}")


def store_uids(base: str, user_code: str) -> list[str]:
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, user_code)
        page = client.get("/backoffice/devices").text
    return re.findall(r'<option value="(store-[^"]+)"', page)


def run(backend: str, url: str, devices: int, batch: int, n: int) -> None:
    print(f"\n== {backend}: {devices:,} devices in one tenant")
    settings = Settings(
        database_url=url,
        secret_key=SECRET,
        environment=Environment.TEST,
        log_level="warning",
        login_rate_limit_per_address=100_000,
    )
    t0 = time.monotonic()
    upgrade(settings)
    _tenant_uid, tenant_id, stores, user_code = asyncio.run(arrange(settings))
    if backend == "sqlite":
        load_sqlite(url.split("///", 1)[1], tenant_id, stores, devices, batch)
    else:
        asyncio.run(load_postgres(url, tenant_id, stores, devices, batch))
    print(f"  loaded in {time.monotonic() - t0:.0f} s")
    with serving(settings) as (base, pid):
        print(f"  load average before: {load_average()}")
        timings = measure(base, user_code, store_uids(base, user_code), devices, n)
        print(f"  load average after: {load_average()}")
        report(backend, timings)
        print(f"\n  server worker after the run: {memory(pid)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=100, help="samples per page")
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posfleet-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            run("sqlite", url, args.devices, args.batch, args.requests)
        if args.backend in ("postgresql", "both"):
            with running_postgres() as pg:
                url = pg.create_database("bench")
                run("postgresql", url, args.devices, args.batch, args.requests)


if __name__ == "__main__":
    main()
