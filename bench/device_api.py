"""Benchmark of the Flow device side against a floor app, on one machine, loopback only.

    .venv/bin/python bench/device_api.py [--seconds 8] [--connections 32] [--sqlite]

Starts a throwaway PostgreSQL (or a SQLite file with ``--sqlite``), seeds a tenant and devices,
runs posfleet and the floor app (``bench/floor_app.py``) each under uvicorn with one worker, and
measures with an httpx async load generator:

1. ``GET /v2/device`` with a real device token vs the floor app: requests/s, p50, p99, ratio;
2. ``POST /v2/device/token`` throughput;
3. ``GET /v2/device`` p99 while links to fresh devices are offered at 20 a second.

Every phase is bounded in time; the load generator shares the machine with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.flow.device.support import World, link_body, world  # noqa: E402
from tests.support.postgres import running_postgres  # noqa: E402

from posfleet.config import Environment, Settings  # noqa: E402
from posfleet.devices.service import DeviceService  # noqa: E402
from posfleet.migrations import upgrade  # noqa: E402
from posfleet.models.enums import AppCode  # noqa: E402
from posfleet.runtime import Runtime  # noqa: E402

SECRET = "bench-secret-" + "x" * 32


@dataclass
class Result:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    def row(self) -> str:
        return (
            f"| {self.name} | {self.rps:,.0f} | {self.pct(0.50):.1f} | {self.pct(0.99):.1f} "
            f"| {self.requests} | {self.errors} |"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _uvicorn(target: str, env: dict[str, str], *extra: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
            *extra,
        ],
        env={**os.environ, **env},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/v2/device", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # password checks still queued: stop now
            proc.kill()
            proc.wait(timeout=10)


async def _load(
    name: str,
    seconds: float,
    connections: int,
    request: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    ok: int = 200,
) -> Result:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await request(client)
                latencies.append(time.perf_counter() - started)
                if response.status_code != ok:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return Result(name, len(latencies), errors, elapsed, latencies)


async def _links_running(
    base: str, worlds: list[World], seconds: float, rate: float
) -> tuple[int, int, int]:
    """Offer ``rate`` links a second (open loop) for ``seconds``; stop waiting 10 s later.

    Returns (offered, succeeded, still running when the phase ended and was cancelled).
    """
    succeeded = 0
    async with httpx.AsyncClient(timeout=seconds + 10) as client:

        async def one(w: World) -> None:
            nonlocal succeeded
            response = await client.post(f"{base}/v2/device/{w.code}/link", json=link_body(w))
            succeeded += response.status_code == 200

        tasks = []
        for i in range(int(seconds * rate)):
            tasks.append(asyncio.create_task(one(worlds[i])))
            await asyncio.sleep(1 / rate)
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return len(tasks), succeeded, len(pending)


async def _seed(settings: Settings, devices: int) -> tuple[World, list[World]]:
    runtime = Runtime.create(settings)
    await runtime.load_signing_keys()
    async with runtime.sessionmaker() as session:
        main = await world(session, runtime)
        extra = []
        service = DeviceService(session, runtime)
        for i in range(devices):
            device, code = await service.create(
                main.tenant.id,
                name=f"Bench {i}",
                app_code=AppCode.CLIENT,
                actor="bench",
                store_uid=main.store.uid,
            )
            extra.append(World(**{**main.__dict__, "device": device, "code": code}))
        await session.commit()
    await runtime.close()
    return main, extra


async def run(
    database_url: str, seconds: float, connections: int, rate: float
) -> dict[str, object]:
    settings = Settings(database_url=database_url, secret_key=SECRET, environment=Environment.TEST)
    await asyncio.to_thread(upgrade, settings)
    main, fresh = await _seed(settings, int(seconds * rate) + 5)
    env = {
        "POSFLEET_DATABASE_URL": database_url,
        "POSFLEET_SECRET_KEY": SECRET,
        "POSFLEET_ENVIRONMENT": "test",
        "POSFLEET_LOG_LEVEL": "warning",
        "POSFLEET_RATE_LIMIT_PER_ADDRESS": "100000000",
    }
    with _uvicorn("posfleet.app:create_app", env, "--factory") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as setup:
            linked = (await setup.post(f"/v2/device/{main.code}/link", json=link_body(main))).json()
            auth = {"Authorization": f"Bearer {linked['token']}"}
            body = (await setup.get("/v2/device", headers=auth)).content
        body_file = Path(tempfile.mkdtemp()) / "device.json"
        body_file.write_bytes(body)
        with _uvicorn(
            "floor_app:app", {"BENCH_BODY_FILE": str(body_file)}, "--app-dir", "bench"
        ) as floor:
            floor_result = await _load(
                "floor: Starlette + orjson, same body",
                seconds,
                connections,
                lambda c: c.get(f"{floor}/v2/device"),
            )
        get_result = await _load(
            "posfleet GET /v2/device (device token)",
            seconds,
            connections,
            lambda c: c.get(f"{base}/v2/device", headers=auth),
        )
        refresh = {"appId": main.app.app_id, "refreshToken": linked["refreshToken"]}
        token_result = await _load(
            "posfleet POST /v2/device/token",
            seconds,
            connections,
            lambda c: c.post(f"{base}/v2/device/token", json=refresh),
        )
        loaded_task = asyncio.create_task(
            _load(
                f"posfleet GET /v2/device while {rate:g} links/s are offered",
                seconds,
                connections,
                lambda c: c.get(f"{base}/v2/device", headers=auth),
            )
        )
        offered, linked_ok, unfinished = await _links_running(base, fresh, seconds, rate)
        loaded = await loaded_task
    results = [floor_result, get_result, token_result, loaded]
    summary = {
        "database": database_url.split(":", 1)[0],
        "connections": connections,
        "seconds_per_phase": seconds,
        "body_bytes": len(body),
        "ratio_get_to_floor": get_result.rps / floor_result.rps,
        "p99_under_links_over_idle": loaded.pct(0.99) / get_result.pct(0.99),
        "links": {"offered": offered, "succeeded": linked_ok, "unfinished": unfinished},
        "table": [r.row() for r in results],
    }
    print("| phase | req/s | p50 ms | p99 ms | requests | non-2xx |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(r.row())
    print(json.dumps({k: v for k, v in summary.items() if k != "table"}, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--links-per-second", type=float, default=20.0)
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file, not PostgreSQL")
    args = parser.parse_args()
    if args.sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        asyncio.run(
            run(
                f"sqlite+aiosqlite:///{path}", args.seconds, args.connections, args.links_per_second
            )
        )
        return
    with running_postgres() as server:
        url = server.create_database("posfleet_bench")
        asyncio.run(run(url, args.seconds, args.connections, args.links_per_second))


if __name__ == "__main__":
    main()
