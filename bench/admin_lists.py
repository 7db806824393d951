"""Benchmark: list and search a tenant with a million devices, on SQLite and PostgreSQL.

    .venv/bin/python bench/admin_lists.py --devices 1000000 --backend both

Loads ``--devices`` devices into one tenant (bulk insert: executemany on SQLite, COPY on a
throwaway PostgreSQL the script starts itself, with progress), serves posfleet on loopback and
reports p50/p99 of HTTP round trips, timed by ``wrk`` with one connection (one request at a
time), and the server's CPU per request for: the first list page, a deep list page (the middle
of the fleet) by ``pageNumber`` and by ``cursor``, a search by name fragment and a free-text
search (each a random word of :data:`WORDS`); then the server worker's resident memory
(``VmRSS``, and its peak ``VmHWM``, from ``/proc/<pid>/status``) and the load average.  Run by
hand, not by the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
from tests import factories
from tests.support.postgres import running_postgres

from posfleet.config import Environment, Settings
from posfleet.migrations import upgrade
from posfleet.models import Tenant, TenantUser
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService

ROOT = Path(__file__).resolve().parents[1]

WORDS = [f"{a}{b}" for a in ("kasse", "lager", "front", "disk", "pos") for b in range(200)]


def words_by_matches() -> dict[str, list[str]]:
    """:data:`WORDS` by how many words start with each (1, 11 or 111): at a million devices a
    fragment matches 1,000, 11,000 or 111,000 of them (``kasse12`` is also in ``kasse120``…)."""
    by: dict[int, list[str]] = {}
    for word in WORDS:
        by.setdefault(sum(other.startswith(word) for other in WORDS), []).append(word)
    return {f"{n * 1_000:,} matches per million": by[n] for n in sorted(by)}


COLUMNS = [
    "tenant_id",
    "uid",
    "name",
    "app_code",
    "status",
    "store_id",
    "identifier",
    "system_information",
    "credential_generation",
    "created_by",
    "last_modified_by",
    "last_tenant_user_uid",
    "last_order_uid",
    "vendor",
    "model_number",
    "external_device_id",
    "is_busy",
    "created_at",
    "last_modified_at",
]
SECRET = "bench-secret-" + "b" * 40


def rows(tenant_id: int, store_ids: list[int], start: int, count: int, sqlite: bool) -> list[tuple]:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(start, start + count):
        at = base + timedelta(milliseconds=i)
        stamp: object = at.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else at
        word = WORDS[i % len(WORDS)]
        out.append(
            (
                tenant_id, f"dev-{i:07d}", f"Till {i:07d} {word}",
                ("CLIENT", "ASSISTANT")[i % 2], ("ACTIVE", "BLOCKED", "READY_TO_LINK")[i % 3],
                store_ids[i % len(store_ids)], secrets.token_urlsafe(12),
                f"Linux host-{i} 6.1.0-{WORDS[(i * 7) % len(WORDS)]} x86_64",
                1, "bench", "bench", "", "", "", "", "", False, stamp, stamp,
            )
        )  # fmt: skip
    return out


async def arrange(settings: Settings) -> tuple[str, int, list[int], int]:
    """A tenant with 20 stores and an admin user: its uid, id, store ids and the user's id."""
    runtime = Runtime.create(settings)
    async with runtime.sessionmaker() as session:
        tenant = await factories.tenant(session)
        stores = [await factories.store(session, tenant, name=f"Store {n}") for n in range(20)]
        user = await factories.user(session, tenant, permissions=["TENANT.ADMIN"])
        await session.commit()
        result = tenant.uid, tenant.id, [s.id for s in stores], user.id
    await runtime.close()
    return result


async def sign_in(settings: Settings, tenant_id: int, user_id: int) -> str:
    """A fresh authToken of the tenant's admin user."""
    runtime = Runtime.create(settings)
    await runtime.load_signing_keys()
    async with runtime.sessionmaker() as session:
        tenant = await session.get(Tenant, tenant_id)
        user = await session.get(TenantUser, user_id)
        assert tenant is not None
        assert user is not None
        token, _ = TokenService(session, runtime).auth_token(user, tenant)
    await runtime.close()
    return token


def load_sqlite(path: str, tenant_id: int, stores: list[int], total: int, batch: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    sql = f"INSERT INTO devices ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608 (fixed column names)
    started = time.monotonic()
    for start in range(0, total, batch):
        conn.executemany(sql, rows(tenant_id, stores, start, min(batch, total - start), True))
        conn.commit()
        progress(start + batch, total, started)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def load_postgres(
    url: str, tenant_id: int, stores: list[int], total: int, batch: int
) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    started = time.monotonic()
    for start in range(0, total, batch):
        records = rows(tenant_id, stores, start, min(batch, total - start), False)
        await conn.copy_records_to_table("devices", records=records, columns=COLUMNS)
        progress(start + batch, total, started)
    await conn.execute("VACUUM ANALYZE devices")
    await conn.execute("VACUUM ANALYZE device_counts")
    # The term table (migration 0012) is read by index-only scans: vacuumed, its pages are
    # all-visible, as autovacuum leaves them after a bulk insert.
    await conn.execute("VACUUM ANALYZE device_terms")
    await conn.execute("VACUUM ANALYZE device_term_counts")
    await conn.close()


def progress(done: int, total: int, started: float) -> None:
    done = min(done, total)
    rate = done / max(time.monotonic() - started, 1e-9)
    print(f"\r  loaded {done:>9,}/{total:,} devices ({rate:,.0f}/s)", end="", flush=True)
    if done == total:
        print()


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, int]]:
    """posfleet under uvicorn in a process of its own (uvloop, httptools, no access log), so
    the load generator does not share an interpreter with the server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POSFLEET_")},
        "POSFLEET_DATABASE_URL": settings.database_url,
        "POSFLEET_SECRET_KEY": SECRET,
        "POSFLEET_ENVIRONMENT": settings.environment.value,
        "POSFLEET_LOG_LEVEL": "warning",
    }
    command = [
        sys.executable, "-m", "uvicorn", "posfleet.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/.well-known/jwks.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def memory(pid: int) -> str:
    """The resident set of a process now and at its peak, from ``/proc/<pid>/status``."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status if ":" in line)
    return f"VmRSS {fields['VmRSS'].strip()}, VmHWM {fields['VmHWM'].strip()}"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


SEARCH = """
local words = {%(words)s}
math.randomseed(7)
request = function()
  local word = words[math.random(#words)]
  return wrk.format("POST", %(path)s, nil, %(prefix)s .. word .. %(suffix)s)
end
"""


def measure(
    base: str,
    tenant_uid: str,
    token: str,
    total: int,
    seconds: float,
    workdir: Path,
    pid: int,
    by_matches: bool = False,
) -> dict[str, loadgen.Phase]:
    """Each query in turn under ``wrk -c1`` (one request at a time) for ``seconds``; with
    ``by_matches``, each search also with its fragments drawn from one group of
    :func:`words_by_matches` at a time."""
    path = f"/v2/tenants/{tenant_uid}/devices"
    deep = max(2, (total // 50) // 2)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as client:
        before = client.get(f"{base}{path}?pageNumber={deep - 1}")
        cursor = before.raise_for_status().json()["paging"]["nextCursor"]

    def get(target: str) -> str:
        return f"wrk.path = {loadgen.lua_string(target)}\n"

    def search(field: str, prefix: str, drawn: list[str] = WORDS) -> str:
        body = json.dumps({field: "WORD"}).split("WORD")
        return SEARCH % {
            "words": ", ".join(loadgen.lua_string(w) for w in drawn),
            "path": loadgen.lua_string(f"{path}/search"),
            "prefix": loadgen.lua_string(body[0] + prefix),
            "suffix": loadgen.lua_string(body[1]),
        }

    cases = {
        "list, first page": (get(path), ("GET", path, None)),
        f"list, page {deep} (middle)": (
            get(f"{path}?pageNumber={deep}"), ("GET", f"{path}?pageNumber={deep}", None)),
        f"list, page {deep} by cursor": (
            get(f"{path}?cursor={cursor}"), ("GET", f"{path}?cursor={cursor}", None)),
        "search, name fragment": (
            search("name", ""), ("POST", f"{path}/search", {"name": WORDS[0]})),
        "search, free text": (
            search("query", "6.1.0-"), ("POST", f"{path}/search", {"query": f"6.1.0-{WORDS[0]}"})),
    }  # fmt: skip
    if by_matches:
        for group, drawn in words_by_matches().items():
            for kind, field, prefix in (("name", "name", ""), ("free text", "query", "6.1.0-")):
                body = {field: prefix + drawn[0]}
                target = ("POST", f"{path}/search", body)
                cases[f"{kind}, {group}"] = (search(field, prefix, drawn), target)
    phases: dict[str, loadgen.Phase] = {}
    with httpx.Client(headers=headers, timeout=60) as client:
        for n, (label, (script, (method, target, body))) in enumerate(cases.items()):
            answer = client.request(method, base + target, json=body).raise_for_status()
            paging = answer.json()["paging"]
            print(
                f"    {label:<44} pageNumber={paging['pageNumber']:,} "
                f"totalCount={paging['totalCount']:,}"
            )
            script = "".join(loadgen.lua_headers(headers)) + script
            lua = workdir / f"case{n}.lua"
            phases[label] = loadgen.one_connection_phase(base + path, script, lua, seconds, pid)
    return phases


def report(backend: str, phases: dict[str, loadgen.Phase]) -> None:
    title = f"{backend}: milliseconds per HTTP request (wrk -c1), server CPU per request"
    loadgen.print_phases(title, "query", phases, 46)


def run(
    backend: str,
    url: str,
    devices: int,
    batch: int,
    seconds: float,
    loaded: Path | None = None,
    by_matches: bool = False,
) -> None:
    """Load the fleet (or, with ``loaded`` naming a file written by an earlier run on the same
    database, only migrate it to the current schema) and measure."""
    print(f"\n== {backend}: {devices:,} devices in one tenant")
    settings = Settings(
        database_url=url, secret_key=SECRET, environment=Environment.TEST, log_level="warning"
    )
    t0 = time.monotonic()
    upgrade(settings)
    if loaded is not None and loaded.exists():
        tenant_uid, tenant_id, user_id = json.loads(loaded.read_text())
        print(f"  reused the loaded fleet, migrated in {time.monotonic() - t0:.0f} s")
    else:
        tenant_uid, tenant_id, stores, user_id = asyncio.run(arrange(settings))
        if backend == "sqlite":
            load_sqlite(url.split("///", 1)[1], tenant_id, stores, devices, batch)
        else:
            asyncio.run(load_postgres(url, tenant_id, stores, devices, batch))
        print(f"  loaded in {time.monotonic() - t0:.0f} s")
        if loaded is not None:
            loaded.write_text(json.dumps([tenant_uid, tenant_id, user_id]))
    token = asyncio.run(sign_in(settings, tenant_id, user_id))
    with serving(settings) as (base, pid):
        print(f"  load average before: {load_average()}")
        with tempfile.TemporaryDirectory(prefix="posfleet-wrk-") as workdir:
            phases = measure(
                base, tenant_uid, token, devices, seconds, Path(workdir), pid, by_matches
            )
        print(f"  load average after: {load_average()}")
        report(backend, phases)
        print(f"\n  server worker after the run: {memory(pid)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per query")
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument(
        "--by-matches",
        action="store_true",
        help="also time each search with fragments of one match count at a time (1,000, 11,000 "
        "and 111,000 matches per million devices)",
    )
    parser.add_argument(
        "--keep-sqlite",
        type=Path,
        help="for development: keep the SQLite database in this directory and reuse it on the "
        "next run with the same --devices (migrated to the current schema, not reloaded)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posfleet-bench-") as tmp:
        if args.backend in ("sqlite", "both"):
            where = args.keep_sqlite or Path(tmp)
            where.mkdir(parents=True, exist_ok=True)
            db = where / f"bench-{args.devices}.db"
            loaded = where / f"bench-{args.devices}.json" if args.keep_sqlite else None
            url = f"sqlite+aiosqlite:///{db}"
            run("sqlite", url, args.devices, args.batch, args.seconds, loaded, args.by_matches)
        if args.backend in ("postgresql", "both"):
            with running_postgres() as pg:
                url = pg.create_database("bench")
                run(
                    "postgresql", url, args.devices, args.batch, args.seconds, None, args.by_matches
                )


if __name__ == "__main__":
    main()
