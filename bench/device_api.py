"""Benchmark of the Flow device side against a floor app, on one machine, loopback only.

    .venv/bin/python bench/device_api.py [--seconds 10] [--connections 32] [--sqlite]

Starts a throwaway PostgreSQL (or a SQLite file with ``--sqlite``), seeds a tenant and devices,
runs posfleet and the floor app (``bench/floor_app.py``) under the same server kind (uvicorn, one
worker, uvloop + httptools, no access log) and measures with ``wrk`` (Debian package ``wrk``: a
separate C process with one thread, so the load generator takes little of the CPU the server
needs; Lua scripts set the token header and print the figures):

1. ``GET /v2/device`` with a real device token vs the floor app: requests/s, p50, p99, ratio;
2. ``POST /v2/device/token`` throughput;
3. ``GET /v2/device`` p99 while links of fresh devices are offered at 20 a second (open loop,
   from this process).

Every phase is bounded in time; links still running 10 s after their phase are cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
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
SERVER_KIND = ("--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log")

# wrk calls done() once at the end; latencies are in microseconds.
REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %d, "micros": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50": %.1f, "p99": %.1f}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Result:
    name: str
    requests: int
    non2xx: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def row(self) -> str:
        return (
            f"| {self.name} | {self.rps:,.0f} | {self.p50_ms:.1f} | {self.p99_ms:.1f} "
            f"| {self.requests} | {self.non2xx + self.socket_errors} |"
        )


def _loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _uvicorn(target: str, env: dict[str, str], *extra: str) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", *SERVER_KIND, *extra]
    proc = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
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
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def _wrk(
    name: str, url: str, seconds: float, connections: int, script: str, workdir: Path
) -> Result:
    lua = workdir / f"{abs(hash(name))}.lua"
    lua.write_text(script + REPORT)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
    proc = await asyncio.create_subprocess_exec(
        *command, "-s", str(lua), url, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=seconds + 60)
    line = next(x for x in out.decode().splitlines() if x.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    return Result(
        name,
        data["requests"],
        data["non2xx"],
        data["socket_errors"],
        data["micros"] / 1e6,
        data["p50"] / 1000,
        data["p99"] / 1000,
    )


def _headers(headers: dict[str, str]) -> str:
    return "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items())


async def _links_running(
    base: str, worlds: list[World], seconds: float, rate: float
) -> tuple[int, Counter[int], int]:
    """Offer ``rate`` links a second (open loop) for ``seconds``; stop waiting 10 s later.

    Returns (offered, answers by status, still running when cancelled).
    """
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(timeout=seconds + 10) as client:

        async def one(w: World) -> None:
            response = await client.post(f"{base}/v2/device/{w.code}/link", json=link_body(w))
            statuses[response.status_code] += 1

        tasks = []
        began = time.perf_counter()
        for i in range(int(seconds * rate)):
            tasks.append(asyncio.create_task(one(worlds[i])))
            await asyncio.sleep(max(0.0, began + (i + 1) / rate - time.perf_counter()))
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return len(tasks), statuses, len(pending)


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
    workdir = Path(tempfile.mkdtemp())
    env = {
        "POSFLEET_DATABASE_URL": database_url,
        "POSFLEET_SECRET_KEY": SECRET,
        "POSFLEET_ENVIRONMENT": "test",
        "POSFLEET_LOG_LEVEL": "warning",
        "POSFLEET_RATE_LIMIT_PER_ADDRESS": "100000000",
    }
    load_before = _loadavg()
    with _uvicorn("posfleet.app:create_app", env, "--factory") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as setup:
            linked = (await setup.post(f"/v2/device/{main.code}/link", json=link_body(main))).json()
            auth = {"Authorization": f"Bearer {linked['token']}"}
            body = (await setup.get("/v2/device", headers=auth)).content
        body_file = workdir / "device.json"
        body_file.write_bytes(body)
        with _uvicorn(
            "floor_app:app", {"BENCH_BODY_FILE": str(body_file)}, "--app-dir", "bench"
        ) as floor:
            floor_result = await _wrk(
                "floor: Starlette + orjson, same body",
                f"{floor}/v2/device",
                seconds,
                connections,
                "",
                workdir,
            )
        get_script = _headers(auth)
        get_result = await _wrk(
            "posfleet GET /v2/device (device token)",
            f"{base}/v2/device",
            seconds,
            connections,
            get_script,
            workdir,
        )
        refresh = {"appId": main.app.app_id, "refreshToken": linked["refreshToken"]}
        token_result = await _wrk(
            "posfleet POST /v2/device/token",
            f"{base}/v2/device/token",
            seconds,
            connections,
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(refresh))}\n"
            + _headers({"Content-Type": "application/json"}),
            workdir,
        )
        loaded_task = asyncio.create_task(
            _wrk(
                f"posfleet GET /v2/device while {rate:g} links/s are offered",
                f"{base}/v2/device",
                seconds,
                connections,
                get_script,
                workdir,
            )
        )
        offered, statuses, unfinished = await _links_running(base, fresh, seconds, rate)
        loaded = await loaded_task
    load_after = _loadavg()
    results = [floor_result, get_result, token_result, loaded]
    summary = {
        "database": database_url.split(":", 1)[0],
        "connections": connections,
        "seconds_per_phase": seconds,
        "body_bytes": len(body),
        "ratio_get_to_floor": round(get_result.rps / floor_result.rps, 3),
        "p99_under_links_over_idle": round(loaded.p99_ms / get_result.p99_ms, 2),
        "links": {
            "offered": offered,
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "unfinished": unfinished,
        },
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }
    print("| phase | req/s | p50 ms | p99 ms | requests | non-2xx |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(r.row())
    print(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
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
