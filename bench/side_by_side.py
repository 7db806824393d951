"""The Flow device side measured side by side with its floors and with django-oauth-toolkit.

    .venv/bin/python bench/side_by_side.py [--engine both|sqlite|postgresql] [--rounds 5]
        [--seconds 10] [--connections 32] [--no-dot]

Per engine (a SQLite file, or a throwaway PostgreSQL server the bench starts), every contender
is a server process on loopback, started once and kept for the whole run:

- floor (a): Starlette + orjson answering the same DeviceInfo body posfleet answers, no I/O;
- floor (b): (a) + one primary-key SELECT through the raw driver against posfleet's database
  (aiosqlite and sqlite3 on SQLite, asyncpg on PostgreSQL);
- floor (c): (b) + a PyJWT EdDSA verification of a token with posfleet's device-token claims;
- posfleet ``GET /v2/device`` with a device token;
- django-oauth-toolkit's protected-resource GET with an access token (gunicorn, one sync worker);
- posfleet ``POST /v2/device/token`` with a fresh refresh token on every request;
- django-oauth-toolkit's refresh grant, a fresh refresh token on every request;
- posfleet ``GET /v2/device`` while links (20/s) and admin device updates (2/s) are offered
  open-loop by ``bench/links_load.py`` in a process of its own.

ASGI contenders run under ``uvicorn --workers 1 --loop uvloop --http httptools
--no-access-log``; django-oauth-toolkit under gunicorn with one sync worker.  Load comes from
``wrk`` (one thread).  The contenders alternate within each round (A B C … A B C …); the table
shows medians over the rounds, CPU µs per request of the server's process tree (``/proc``), and
on PostgreSQL the CPU of the whole database cluster per request.  Refresh tokens are created up
front, enough for ``--token-rate`` requests a second (requests beyond them are counted as
``exhausted``).  Any non-2xx answer is counted and shown.  Exits 0 whether or not the targets
are met.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import dot_peer  # noqa: E402
import loadgen  # noqa: E402
from loadgen import Phase  # noqa: E402
from tests import factories  # noqa: E402
from tests.flow.device.support import World, link_body, world  # noqa: E402
from tests.support.postgres import PostgresServer, running_postgres  # noqa: E402

from posfleet.config import Environment, Settings  # noqa: E402
from posfleet.devices.service import DeviceService  # noqa: E402
from posfleet.kit.clock import utcnow  # noqa: E402
from posfleet.kit.codes import new_secret  # noqa: E402
from posfleet.migrations import upgrade  # noqa: E402
from posfleet.models import DeviceRefreshToken  # noqa: E402
from posfleet.models.enums import AppCode  # noqa: E402
from posfleet.runtime import Runtime  # noqa: E402
from posfleet.tokens.device_refresh import REFRESH_PREFIX  # noqa: E402
from posfleet.tokens.service import TokenService  # noqa: E402

SECRET = "bench-secret-" + "x" * 32
POOL_DEVICES = 4  # linked devices the posfleet refresh tokens are spread over
WRITE_DEVICES = 20  # at most this many devices take the admin updates of the links phase, in turn


@dataclass
class Options:
    rounds: int
    seconds: float
    connections: int
    warmup: float
    links_per_second: float
    writes_per_second: float
    token_rate: float
    dot_token_rate: float
    dot: bool
    workdir: Path
    only: frozenset[str] | None = None

    def runs(self, key: str) -> bool:
        return self.only is None or key in self.only


@dataclass
class Contender:
    key: str
    label: str
    server: loadgen.Server
    path: str
    script: Callable[[int, float], str]  # (phase number, seconds) -> Lua
    links: bool = False
    phases: list[Phase] = field(default_factory=list)
    background: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TokenPool:
    """Single-use tokens in a file, handed out in disjoint slices, one slice per phase."""

    tokens: list[str]
    dir: Path
    name: str
    rate: float
    used: int = 0

    def slice_file(self, seconds: float) -> Path:
        want = int(seconds * self.rate) + 1
        part = self.tokens[self.used : self.used + want]
        self.used += len(part)
        path = self.dir / f"{self.name}-{self.used}.txt"
        path.write_text("".join(t + "\n" for t in part))
        return path


# --- posfleet: seed, serve, link ----------------------------------------------------------------


@dataclass
class Seed:
    main: World
    pool: list[tuple[str, str]]  # (device uid, link code)
    link_worlds: list[World]
    write_uids: list[str]
    admin_headers: dict[str, str]


async def _seed(settings: Settings, links: int, writes: int) -> Seed:
    runtime = Runtime.create(settings)
    await runtime.load_signing_keys()
    try:
        async with runtime.sessionmaker() as session:
            main = await world(session, runtime)
            service = DeviceService(session, runtime)

            async def device(name: str) -> tuple[str, str]:
                row, code = await service.create(
                    main.tenant.id,
                    name=name,
                    app_code=AppCode.CLIENT,
                    actor="bench",
                    store_uid=main.store.uid,
                )
                return row.uid, code

            pool = [await device(f"Pool {i}") for i in range(POOL_DEVICES - 1)]
            link_worlds = []
            for i in range(links):
                _, code = await device(f"Link {i}")
                link_worlds.append(World(**{**main.__dict__, "code": code}))
            writes = [(await device(f"Write {i}"))[0] for i in range(max(1, writes))]
            admin = await factories.user(
                session, main.tenant, stores=[main.store], permissions=["TENANT.ADMIN"]
            )
            await session.commit()
            token, _ = TokenService(session, runtime).auth_token(admin, main.tenant)
        return Seed(main, pool, link_worlds, writes, {"Authorization": f"Bearer {token}"})
    finally:
        await runtime.close()


async def _refresh_tokens(
    settings: Settings, tenant_id: int, device_uids: list[str], app_id: str, count: int
) -> list[str]:
    """``count`` refresh tokens of linked devices, made and hashed as a link issues them
    (``DeviceRefreshService.issue``) but inserted in bulk, and last used an hour ago, as a device
    coming back for a new device token presents them."""
    runtime = Runtime.create(settings)
    tokens: list[str] = []
    try:
        async with runtime.sessionmaker() as session:
            service = DeviceService(session, runtime)
            devices = [await service.get(tenant_id, uid) for uid in device_uids]
            an_hour_ago = utcnow() - timedelta(hours=1)
            rows = []
            for i in range(count):
                device = devices[i % len(devices)]
                secret = new_secret(REFRESH_PREFIX)
                tokens.append(secret)
                rows.append(
                    {
                        "tenant_id": device.tenant_id,
                        "device_id": device.id,
                        "token_hash": runtime.hasher.hash(secret),
                        "secret_key_id": runtime.hasher.key_id,
                        "app_id": app_id,
                        "credential_generation": device.credential_generation,
                        "created_at": an_hour_ago,
                        "last_used_at": an_hour_ago,
                    }
                )
            for at in range(0, len(rows), 5000):
                await session.execute(insert(DeviceRefreshToken), rows[at : at + 5000])
            await session.commit()
    finally:
        await runtime.close()
    return tokens


def _posfleet_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "POSFLEET_DATABASE_URL": database_url,
        "POSFLEET_SECRET_KEY": SECRET,
        "POSFLEET_ENVIRONMENT": "production",
        "POSFLEET_LOG_LEVEL": "warning",
        "POSFLEET_RATE_LIMIT_PER_ADDRESS": "100000000",
        # The one device token is used by every GET phase of the run, however long it is.
        "POSFLEET_DEVICE_TOKEN_TTL_SECONDS": "86400",
    }


def _uvicorn(target: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *loadgen.UVICORN_FLAGS,
        *extra,
    ]


def _floor_token(device_token: str) -> tuple[str, str, str | None]:
    """A token with the device token's header fields and claims, signed by a key of the bench's:
    (token, public key PEM, audience)."""
    claims = jwt.decode(device_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(device_token)
    key = Ed25519PrivateKey.generate()
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": header.get("kid", "bench")})
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    aud = claims.get("aud")
    return token, pem.decode(), aud if isinstance(aud, str) else None


def _static(headers: dict[str, str]) -> Callable[[int, float], str]:
    script = loadgen.lua_headers(headers)
    return lambda phase, seconds: script


def _tokens(
    pool: TokenPool, method: str, path: str, headers: dict[str, str], prefix: str, suffix: str
) -> Callable[[int, float], str]:
    def script(phase: int, seconds: float) -> str:
        return loadgen.token_script(pool.slice_file(seconds), method, path, headers, prefix, suffix)

    return script


# --- one engine ---------------------------------------------------------------------------------


@dataclass
class EngineRun:
    engine: str
    contenders: list[Contender]
    loadavg: list[str]
    notes: list[str]


def _postmaster(pg: PostgresServer | None) -> int | None:
    if pg is None:
        return None
    return int((pg.datadir / "postmaster.pid").read_text().split()[0])


def run_engine(engine: str, options: Options, pg: PostgresServer | None) -> EngineRun:
    rundir = Path(tempfile.mkdtemp(prefix=f"posfleet-sbs-{engine}-"))
    try:
        return _run_engine(engine, options, pg, rundir)
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def _run_engine(
    engine: str, options: Options, pg: PostgresServer | None, rundir: Path
) -> EngineRun:
    notes: list[str] = []
    sqlite_file = rundir / "posfleet.db"
    if pg is None:
        database_url = f"sqlite+aiosqlite:///{sqlite_file}"
        raw_database = str(sqlite_file)
    else:
        database_url = pg.create_database("posfleet_bench")
        raw_database = database_url.replace("postgresql+asyncpg://", "postgresql://")
    settings = Settings(
        database_url=database_url, secret_key=SECRET, environment=Environment.PRODUCTION
    )
    upgrade(settings)
    links_needed = int(options.rounds * options.seconds * options.links_per_second) + 5
    began = time.monotonic()

    def say(text: str) -> None:
        print(f"[{engine}] {time.monotonic() - began:5.0f} s  {text}", flush=True)

    say(f"seeding posfleet ({links_needed} devices to link) …")
    writes_needed = int(options.rounds * options.seconds * options.writes_per_second)
    seed = asyncio.run(_seed(settings, links_needed, min(WRITE_DEVICES, writes_needed)))
    main = seed.main
    postmaster = _postmaster(pg)
    load_before = loadgen.loadavg()

    logdir = options.workdir / "logs" / engine
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    say(f"server logs in {logdir}")
    with loadgen.servers(logdir) as group:
        port = loadgen.free_port()
        posfleet = group.start(
            "posfleet",
            _uvicorn("posfleet.app:create_app", port, "--factory"),
            _posfleet_env(database_url),
            ROOT,
            port,
        )
        group.wait_ready()
        with httpx.Client(base_url=posfleet.base, timeout=60) as setup:
            linked = setup.post(f"/v2/device/{main.code}/link", json=link_body(main))
            linked.raise_for_status()
            device_token = linked.json()["token"]
            auth = {"Authorization": f"Bearer {device_token}"}
            answer = setup.get("/v2/device", headers=auth)
            answer.raise_for_status()
            body = answer.content
            pool_uids = [main.device.uid]
            for uid, code in seed.pool:
                pooled = setup.post(
                    f"/v2/device/{code}/link",
                    json=link_body(World(**{**main.__dict__, "code": code})),
                )
                pooled.raise_for_status()
                pool_uids.append(uid)
        body_file = rundir / "device.json"
        body_file.write_bytes(body)
        phases_per_contender = options.rounds + 1  # and the warm-up
        token_count = int(phases_per_contender * (options.seconds + 1) * options.token_rate)
        say(f"issuing {token_count} posfleet refresh tokens …")
        pf_tokens = asyncio.run(
            _refresh_tokens(settings, main.tenant.id, pool_uids, main.app.app_id, token_count)
        )
        pf_pool = TokenPool(pf_tokens, rundir, "posfleet-refresh", options.token_rate)

        floor_token, public_pem, audience = _floor_token(device_token)
        drivers = ["aiosqlite", "sqlite3"] if pg is None else ["asyncpg"]
        floor_env = {
            **os.environ,
            "BENCH_BODY_FILE": str(body_file),
            "FLOOR_DATABASE": raw_database,
            "FLOOR_DEVICE_ID": str(main.device.id),
            "FLOOR_PUBLIC_KEY": public_pem,
            "FLOOR_AUDIENCE": audience or "",
        }
        floors: list[tuple[str, str, loadgen.Server]] = []
        for kind in ["a", *(f"b-{d}" for d in drivers), *(f"c-{d}" for d in drivers)]:
            port = loadgen.free_port()
            server = group.start(
                f"floor {kind}",
                _uvicorn("floors:app", port, "--app-dir", str(BENCH)),
                {**floor_env, "FLOOR_KIND": kind},
                ROOT,
                port,
            )
            floors.append((kind, _floor_label(kind), server))

        dot = None
        dot_server = None
        if options.dot:
            dot_count = int(phases_per_contender * (options.seconds + 1) * options.dot_token_rate)
            say(f"preparing django-oauth-toolkit ({dot_count} refresh tokens) …")
            if pg is None:
                dot = dot_peer.prepare(
                    options.workdir, rundir, body_file, dot_count, sqlite_file=rundir / "dot.db"
                )
            else:
                pg.create_database("dot_bench")
                dot = dot_peer.prepare(
                    options.workdir,
                    rundir,
                    body_file,
                    dot_count,
                    postgres={
                        "NAME": "dot_bench",
                        "USER": pg.user,
                        "HOST": "127.0.0.1",
                        "PORT": str(pg.port),
                    },
                )
            notes.append(dot_peer.versions(dot.venv))
            port = loadgen.free_port()
            dot_server = group.start(
                "django-oauth-toolkit",
                dot.command(port),
                {"PATH": "/usr/bin:/bin"},
                dot.project,
                port,
            )
        group.wait_ready()
        say("every server answers")

        contenders: list[Contender] = []
        for kind, label, server in floors:
            headers = {"Authorization": f"Bearer {floor_token}"} if kind.startswith("c") else {}
            contenders.append(
                Contender(f"floor-{kind}", label, server, "/v2/device", _static(headers))
            )
        contenders.append(
            Contender("get", "**posfleet `GET /v2/device`**", posfleet, "/v2/device", _static(auth))
        )
        if dot is not None and dot_server is not None:
            contenders.append(
                Contender(
                    "dot-get",
                    "django-oauth-toolkit protected-resource GET (gunicorn sync)",
                    dot_server,
                    "/v2/device",
                    _static({"Authorization": f"Bearer {dot.access_token}"}),
                )
            )
        contenders.append(
            Contender(
                "token",
                "**posfleet `POST /v2/device/token`** (a fresh refresh token each request)",
                posfleet,
                "/v2/device/token",
                _tokens(
                    pf_pool,
                    "POST",
                    "/v2/device/token",
                    {"Content-Type": "application/json"},
                    '{"appId": ' + json.dumps(main.app.app_id) + ', "refreshToken": "',
                    '"}',
                ),
            )
        )
        if dot is not None and dot_server is not None:
            dot_pool = TokenPool(
                dot.refresh_tokens.read_text().split(),
                rundir,
                "dot-refresh",
                options.dot_token_rate,
            )
            contenders.append(
                Contender(
                    "dot-refresh",
                    "django-oauth-toolkit refresh grant (gunicorn sync, a fresh token each "
                    "request)",
                    dot_server,
                    "/o/token/",
                    _tokens(
                        dot_pool,
                        "POST",
                        "/o/token/",
                        {"Content-Type": "application/x-www-form-urlencoded"},
                        f"grant_type=refresh_token&client_id={dot.client_id}&refresh_token=",
                        "",
                    ),
                )
            )
        contenders.append(
            Contender(
                "get-links",
                f"posfleet `GET /v2/device` while {options.links_per_second:g} links/s and "
                f"{options.writes_per_second:g} admin device updates/s are offered",
                posfleet,
                "/v2/device",
                _static(auth),
                links=True,
            )
        )

        link_plan = [
            {"url": f"/v2/device/{w.code}/link", "body": link_body(w)} for w in seed.link_worlds
        ]
        devices_url = f"/v2/tenants/{main.tenant.uid}/devices"
        write_plan = [
            {
                "url": f"{devices_url}/{seed.write_uids[i % len(seed.write_uids)]}",
                "body": {"name": f"Renamed {i}"},
                "headers": seed.admin_headers,
            }
            for i in range(int(options.rounds * options.seconds * options.writes_per_second) + 5)
        ]
        contenders = [c for c in contenders if options.runs(c.key)]
        links_used = writes_used = 0

        def phase(c: Contender, number: int, seconds: float, record: bool) -> None:
            nonlocal links_used, writes_used
            lua = rundir / f"{c.key}-{number}.lua"
            script = c.script(number, seconds)
            cpu_root = c.server.pid
            db = (postmaster, loadgen.tree_cpu_seconds(postmaster)) if postmaster else None
            driver = None
            if c.links:
                n_links = int(seconds * options.links_per_second)
                n_writes = int(seconds * options.writes_per_second)
                plan = {
                    "base": c.server.base,
                    "seconds": seconds,
                    "links": link_plan[links_used : links_used + n_links],
                    "links_per_second": options.links_per_second,
                    "writes": write_plan[writes_used : writes_used + n_writes],
                    "writes_per_second": options.writes_per_second,
                }
                links_used += n_links
                writes_used += n_writes
                plan_file = rundir / f"links-{number}.json"
                plan_file.write_text(json.dumps(plan))
                driver = subprocess.Popen(
                    [sys.executable, str(BENCH / "links_load.py"), str(plan_file)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                # Started before the phase: its start-up is not part of what the phase measures.
                assert driver.stdout is not None
                assert driver.stdin is not None
                if driver.stdout.readline().strip() != "READY":
                    raise RuntimeError("the links load did not start")
            cpu = (cpu_root, loadgen.tree_cpu_seconds(cpu_root))
            proc = loadgen.start_wrk(
                c.server.base + c.path, script, lua, seconds, options.connections
            )
            if driver is not None:
                assert driver.stdin is not None
                driver.stdin.write("go\n")
                driver.stdin.flush()
            result = loadgen.finish_wrk(proc, seconds, cpu, db)
            if driver is not None:
                out, _ = driver.communicate(timeout=seconds + 30)
                line = next(x for x in out.splitlines() if x.startswith("RESULT "))
                background = json.loads(line.removeprefix("RESULT "))
                background["settle_seconds"] = _settle(c.server.pid)
                if record:
                    c.background.append(background)
            if record:
                c.phases.append(result)
            tag = f"round {number}" if record else "warm-up"
            say(
                f"{tag:>8} {c.key:<16} {result.rps:>9,.0f} req/s  p50 "
                f"{result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
                f"cpu {result.cpu_us:7.0f} µs/req  non-2xx {result.non2xx}"
                + (f"  exhausted {result.exhausted}" if result.exhausted else "")
            )

        if options.warmup > 0:
            for c in contenders:
                if not c.links:
                    phase(c, 0, options.warmup, record=False)
        for number in range(1, options.rounds + 1):
            for c in contenders:
                phase(c, number, options.seconds, record=True)
        for server in group.started:
            if server.proc.poll() is not None:
                notes.append(f"{server.name} exited during the run")
    return EngineRun(engine, contenders, [load_before, loadgen.loadavg()], notes)


def _settle(pid: int, limit: float = 60.0) -> float:
    """Wait until the server is idle again (under 10 % of a core over half a second, at most
    ``limit`` seconds): links the background process gave up on may still be running there, and
    would otherwise load the next contender's phase.  Returns the seconds waited."""
    began = time.monotonic()
    last = loadgen.tree_cpu_seconds(pid)
    while time.monotonic() - began < limit:
        time.sleep(0.5)
        now = loadgen.tree_cpu_seconds(pid)
        if now - last < 0.05:
            break
        last = now
    return round(time.monotonic() - began, 1)


def _floor_label(kind: str) -> str:
    if kind == "a":
        return "(a) Starlette + orjson, the same DeviceInfo body, no I/O"
    step, _, driver = kind.partition("-")
    if step == "b":
        return f"(b) (a) + one primary-key SELECT ({driver})"
    return f"(c) (b) + a PyJWT EdDSA verification ({driver})"


# --- report -------------------------------------------------------------------------------------


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass
class Summary:
    rps: float
    p50: float
    p99: float
    cpu_us: float
    db_cpu_us: float | None
    requests: int
    non2xx: int
    s5xx: int
    socket_errors: int
    exhausted: int

    @classmethod
    def of(cls, phases: list[Phase]) -> Summary:
        db = [p.db_cpu_us for p in phases if p.db_cpu_us is not None]
        return cls(
            rps=_median([p.rps for p in phases]),
            p50=_median([p.p50_ms for p in phases]),
            p99=_median([p.p99_ms for p in phases]),
            cpu_us=_median([p.cpu_us for p in phases]),
            db_cpu_us=_median(db) if db else None,
            requests=sum(p.requests for p in phases),
            non2xx=sum(p.non2xx for p in phases),
            s5xx=sum(p.s5xx for p in phases),
            socket_errors=sum(p.socket_errors for p in phases),
            exhausted=sum(p.exhausted for p in phases),
        )


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _errors(s: Summary) -> str:
    text = f"{s.non2xx} ({s.s5xx} 5xx)"
    if s.socket_errors:
        text += f", {s.socket_errors} socket errors"
    if s.exhausted:
        text += f", {s.exhausted} after the tokens ran out"
    return text


def report(runs: list[EngineRun], options: Options) -> tuple[str, list[dict[str, Any]]]:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    order: list[tuple[str, str]] = []
    summaries: dict[tuple[str, str], Summary] = {}
    for run in runs:
        for c in run.contenders:
            if (c.key, c.label) not in order:
                order.append((c.key, c.label))
            summaries[(run.engine, c.key)] = Summary.of(c.phases)
    ranks = ["floor-a", "floor-b", "floor-c", "get", "dot-get", "token", "dot-refresh", "get-links"]
    order.sort(key=lambda item: ranks.index(item[0] if item[0] in ranks else item[0][:7]))
    engines = [r.engine for r in runs]
    lines = []
    head = "| contender |"
    rule = "|---|"
    for e in engines:
        head += f" {names[e]} req/s | p50 / p99 ms |"
        rule += "---:|---:|"
    head += " CPU µs/req (" + " / ".join(names[e] for e in engines) + ") |"
    rule += "---:|"
    if "postgresql" in engines:
        head += " PostgreSQL CPU µs/req |"
        rule += "---:|"
    head += " non-2xx (" + " / ".join(names[e] for e in engines) + ") |"
    rule += "---|"
    lines += [head, rule]
    for key, label in order:
        row = f"| {label} |"
        cpu, errs = [], []
        for e in engines:
            s = summaries.get((e, key))
            if s is None:
                row += " — | — |"
                cpu.append("—")
                errs.append("—")
                continue
            row += f" {s.rps:,.0f} | {_ms(s.p50)} / {_ms(s.p99)} |"
            cpu.append(f"{s.cpu_us:,.0f}")
            errs.append(_errors(s))
        row += " " + " / ".join(cpu) + " |"
        if "postgresql" in engines:
            s = summaries.get(("postgresql", key))
            row += f" {s.db_cpu_us:,.0f} |" if s and s.db_cpu_us is not None else " — |"
        row += " " + " / ".join(errs) + " |"
        lines.append(row)

    lines.append("")
    lines.append("Per round (req/s, p99 ms):")
    lines.append("")
    for run in runs:
        lines.append(
            f"| {names[run.engine]} | "
            + " | ".join(f"round {i}" for i in range(1, options.rounds + 1))
            + " |"
        )
        lines.append("|---|" + "---:|" * options.rounds)
        for c in run.contenders:
            lines.append(
                f"| {c.key} | "
                + " | ".join(f"{p.rps:,.0f} ({_ms(p.p99_ms)})" for p in c.phases)
                + " |"
            )
        lines.append("")
    for run in runs:
        for c in run.contenders:
            if c.links:
                links = _sum_counts(b["links"] for b in c.background)
                writes = _sum_counts(b["writes"] for b in c.background)
                lines.append(
                    f"{names[run.engine]} background of the links phase: "
                    f"{sum(b['links_offered'] for b in c.background)} links offered, answers "
                    f"{_counts(links)}, {sum(b['links_unfinished'] for b in c.background)} "
                    f"unfinished; {sum(b['writes_offered'] for b in c.background)} admin updates "
                    f"offered, answers {_counts(writes)}, "
                    f"{sum(b['writes_unfinished'] for b in c.background)} unfinished; the "
                    f"server was idle again {_settled(c.background)} after each phase."
                )
    lines.append("")
    checks = []
    lines.append("| target | " + " | ".join(names[e] for e in engines) + " |")
    lines.append("|---|" + "---|" * len(engines))
    targets = _targets(summaries, engines)
    failures: dict[str, tuple[str, bool]] = {}
    for run in runs:
        s5xx = sum(p.s5xx for c in run.contenders for p in c.phases)
        for c in run.contenders:
            for b in c.background:
                for counts in (b["links"], b["writes"]):
                    s5xx += sum(v for k, v in counts.items() if k.startswith("5"))
        failures[run.engine] = (f"{s5xx} 5xx", s5xx == 0)
    targets.append(("no 5xx answer (wrk phases, links, admin updates)", failures))
    for name, per_engine in targets:
        cells = []
        for e in engines:
            value = per_engine.get(e)
            if value is None:
                cells.append("not measured")
                continue
            figure, met = value
            cells.append(f"{figure} — {'met' if met else '**not met**'}")
            checks.append({"engine": e, "target": name, "figure": figure, "met": met})
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for run in runs:
        lines.append(
            f"{names[run.engine]}: load average {run.loadavg[0]} before, {run.loadavg[1]} after."
            + "".join(f" {n}." for n in run.notes)
        )
    return "\n".join(lines), checks


def _sum_counts(items: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in items:
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


def _settled(background: list[dict[str, Any]]) -> str:
    waits = [b["settle_seconds"] for b in background]
    return f"{min(waits):g} to {max(waits):g} s" if waits else "—"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} x {k}" for k, v in sorted(counts.items())) or "none"


def _targets(
    summaries: dict[tuple[str, str], Summary], engines: list[str]
) -> list[tuple[str, dict[str, tuple[str, bool]]]]:
    out: list[tuple[str, dict[str, tuple[str, bool]]]] = [
        ("GET req/s ≥ 0.5 x floor (a)", {}),
        ("GET req/s ≥ floor (c) (the faster driver)", {}),
        ("GET p99 < 10 x floor (a) p99", {}),
        ("POST token req/s ≥ 5 x DOT refresh grant", {}),
        ("GET p99 under links < 2 x idle GET p99", {}),
    ]
    for e in engines:
        get = summaries.get((e, "get"))
        a = summaries.get((e, "floor-a"))
        cs = [s for (en, k), s in summaries.items() if en == e and k.startswith("floor-c")]
        token = summaries.get((e, "token"))
        dot = summaries.get((e, "dot-refresh"))
        links = summaries.get((e, "get-links"))
        if get and a and a.rps:
            ratio = get.rps / a.rps
            out[0][1][e] = (f"{ratio:.2f} x", ratio >= 0.5)
            p99 = get.p99 / a.p99 if a.p99 else float("inf")
            out[2][1][e] = (f"{p99:.1f} x", p99 < 10)
        if get and cs:
            best = max(c.rps for c in cs)
            out[1][1][e] = (f"{get.rps / best:.2f} x", get.rps >= best)
        if token and dot and dot.rps:
            ratio = token.rps / dot.rps
            out[3][1][e] = (f"{ratio:.1f} x", ratio >= 5)
        if links and get and get.p99:
            ratio = links.p99 / get.p99
            out[4][1][e] = (f"{ratio:.2f} x", ratio < 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["both", "sqlite", "postgresql"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds per contender, once")
    parser.add_argument("--links-per-second", type=float, default=20.0)
    parser.add_argument("--writes-per-second", type=float, default=2.0)
    parser.add_argument(
        "--token-rate",
        type=float,
        default=2000.0,
        help="posfleet refresh tokens made per second of phase (the most POST /v2/device/token "
        "can use)",
    )
    parser.add_argument(
        "--dot-token-rate",
        type=float,
        default=600.0,
        help="the same for django-oauth-toolkit's refresh grant",
    )
    parser.add_argument("--no-dot", action="store_true", help="leave django-oauth-toolkit out")
    parser.add_argument(
        "--only",
        help="run only these contenders, comma-separated keys (floor-a, floor-b-asyncpg, get, "
        "token, get-links, …): a quick look at a few; the report then checks only their targets",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=BENCH / ".work",
        help="where the django-oauth-toolkit virtualenv is kept between runs",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    loadgen.wrk_binary()
    options = Options(
        rounds=args.rounds,
        seconds=args.seconds,
        connections=args.connections,
        warmup=args.warmup,
        links_per_second=args.links_per_second,
        writes_per_second=args.writes_per_second,
        token_rate=args.token_rate,
        dot_token_rate=args.dot_token_rate,
        dot=not args.no_dot
        and (not args.only or any(k.startswith("dot-") for k in args.only.split(","))),
        workdir=args.workdir.resolve(),
        only=frozenset(args.only.split(",")) if args.only else None,
    )
    options.workdir.mkdir(parents=True, exist_ok=True)
    if options.dot:
        dot_peer.ensure_venv(options.workdir)
    began = time.monotonic()
    runs = []
    if args.engine in ("both", "sqlite"):
        runs.append(run_engine("sqlite", options, None))
    if args.engine in ("both", "postgresql"):
        with running_postgres() as pg:
            runs.append(run_engine("postgresql", options, pg))
    table, checks = report(runs, options)
    print()
    print(table)
    print(
        f"\n{options.rounds} rounds x {options.seconds:g} s, wrk -t1 -c{options.connections}; "
        f"the run took {time.monotonic() - began:.0f} s."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "options": {k: str(v) for k, v in options.__dict__.items()},
                    "runs": [
                        {
                            "engine": r.engine,
                            "loadavg": r.loadavg,
                            "notes": r.notes,
                            "contenders": {
                                c.key: {
                                    "label": c.label,
                                    "phases": [p.__dict__ for p in c.phases],
                                    "background": c.background,
                                }
                                for c in r.contenders
                            },
                        }
                        for r in runs
                    ],
                    "checks": checks,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
