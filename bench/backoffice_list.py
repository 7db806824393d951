"""Benchmark: the back office's device list page at a million devices, SQLite and PostgreSQL.

    .venv/bin/python bench/backoffice_list.py --devices 1000000 --backend both

Loads the devices the way ``bench/admin_lists.py`` does (one tenant, 20 stores), serves posfleet
on loopback in a process of its own, signs in through the sign-in form like a browser, and
reports p50/p99 of full HTTP round trips for ``GET /backoffice/devices`` (the whole HTML page:
session cookie check, the API's list or search query, 25 rows, the layout), timed by ``wrk``
with one connection (one request at a time) carrying the session's cookie, and the server's CPU
per request; then the server worker's resident memory (``VmRSS``, ``VmHWM``) and the load
average.  Run by hand; ``tests/bench`` runs it on a small fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
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


# Each request draws one of ``values`` (seeded, so every run asks the same sequence).
DRAWN = """
local values = {%(values)s}
math.randomseed(7)
request = function()
  return wrk.format("GET", %(prefix)s .. values[math.random(#values)] .. %(suffix)s)
end
"""


def measure(
    base: str, user_code: str, stores: list[str], total: int, seconds: int, workdir: Path, pid: int
) -> dict[str, loadgen.Phase]:
    """Each page in turn under ``wrk -c1`` for ``seconds`` (after a second of warm-up)."""
    path = "/backoffice/devices"
    middle = max(1, (total // PAGE_SIZE) // 2)

    def fixed(params: dict[str, str]) -> tuple[str, str]:
        target = f"{path}?{urlencode(params)}" if params else path
        return f"wrk.path = {loadgen.lua_string(target)}\n", target

    def drawn(name: str, values: list[str], prefix: str = "", **params: str) -> tuple[str, str]:
        query = urlencode(params) + "&" if params else ""
        script = DRAWN % {
            "values": ", ".join(loadgen.lua_string(v) for v in values),
            "prefix": loadgen.lua_string(f"{path}?{query}{name}={prefix}"),
            "suffix": loadgen.lua_string(""),
        }
        return script, f"{path}?{query}{urlencode({name: prefix + values[0]})}"

    cases = {
        "first page (newest first)": fixed({}),
        f"page {middle:,} (the middle)": fixed({"page": str(middle)}),
        "name contains <word>": drawn("name", WORDS),
        "search 6.1.0-<word>": drawn("q", WORDS, "6.1.0-"),
        "store + status + app filter": drawn("store", stores, status="ACTIVE", app="CLIENT"),
    }
    phases: dict[str, loadgen.Phase] = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, user_code)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        for n, (label, (script, example)) in enumerate(cases.items()):
            answer = client.get(example)
            answer.raise_for_status()
            count = re.search(r'id="device-count">([^<,]+)', answer.text)
            print(f"    {label:<30} {count.group(1) if count else '?'}")
            script = loadgen.lua_headers({"Cookie": cookie}) + script
            lua = workdir / f"case{n}.lua"
            phases[label] = loadgen.one_connection_phase(base + path, script, lua, seconds, pid)
    return phases


def report(backend: str, phases: dict[str, loadgen.Phase]) -> None:
    title = f"{backend}: milliseconds per page (HTML, {PAGE_SIZE} devices; wrk -c1)"
    loadgen.print_phases(title, "page", phases, 32)


def store_uids(base: str, user_code: str) -> list[str]:
    with httpx.Client(base_url=base, timeout=60) as client:
        sign_in(client, user_code)
        page = client.get("/backoffice/devices").text
    return re.findall(r'<option value="(store-[^"]+)"', page)


def run(backend: str, url: str, devices: int, batch: int, seconds: int) -> None:
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
        with tempfile.TemporaryDirectory(prefix="posfleet-wrk-") as workdir:
            stores = store_uids(base, user_code)
            phases = measure(base, user_code, stores, devices, seconds, Path(workdir), pid)
        print(f"  load average after: {load_average()}")
        report(backend, phases)
        print(f"\n  server worker after the run: {memory(pid)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per page")
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posfleet-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            run("sqlite", url, args.devices, args.batch, args.seconds)
        if args.backend in ("postgresql", "both"):
            with running_postgres() as pg:
                url = pg.create_database("bench")
                run("postgresql", url, args.devices, args.batch, args.seconds)


if __name__ == "__main__":
    main()
