"""What a running posfleet process holds: engine, session factories, keys, hashers, limits."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from posfleet.config import Settings
from posfleet.db import (
    SqliteWriter,
    create_engine,
    create_reader,
    create_sessionmaker,
    create_writer,
    session_scope,
)
from posfleet.devices.activity import ACTIVITY_FLUSH_SECONDS, ActivityLog
from posfleet.errors import Unauthorized
from posfleet.kit.changes import (
    PURGE_CHANGE_LOG,
    Changes,
    SqliteChanges,
    changes_for,
    watch_local_writes,
)
from posfleet.kit.clock import unix, utcnow
from posfleet.kit.hashing import SecretHasher
from posfleet.kit.jwt import JwtCodec, TokenType
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.lru import LruCache
from posfleet.kit.ratelimit import RateLimiter
from posfleet.tokens import keys
from posfleet.tokens.live import LiveDevices, LiveUsers

log = structlog.get_logger("posfleet.runtime")

KEY_RELOAD_MIN_INTERVAL = 5.0  # seconds

# Rate-limit windows are seconds to minutes; a day of counts is more than any window needs.
RATE_LIMIT_MEMORY = timedelta(days=1)

# ~4.5 kB per body: a few tens of megabytes at most, more devices than one replica usually serves.
DEVICE_INFO_CACHE_ENTRIES = 8192

# Verified claims by token string (~1 kB each): a signature check per token, not per request.
CLAIMS_CACHE_ENTRIES = 16384
# Tenant and device rows of device tokens (tokens/live.py): ~2 kB each.
LIVE_DEVICE_ENTRIES = 65536
# Tenant and user rows of users' tokens (admin lists and searches): ~2 kB each.
LIVE_USER_ENTRIES = 4096
# Writes to these tables change what a token or DeviceInfo depends on (the config tables move
# the tenant's config_version, migration 0003).
AUTH_TABLES = (
    "devices",
    "tenants",
    "tenant_users",
    "stores",
    "tills",
    "store_payment_methods",
    "reasons",
    "currency_denominations",
    "device_setting_definitions",
    "printers",
    "device_setting_values",
    "device_printers",
)

# One trigger per engine that reports changed users (migration 0014).
USER_CHANGE_TRIGGERS = {
    "sqlite": "tenant_users_auth_change_update",
    "postgresql": "tenant_users_auth_changed_update",
}

# The codec's leeway: a token is refused this many seconds after its ``exp``.
EXPIRY_LEEWAY = 5

# Net allocations between two young-generation collections (Python's default is 700).
GC_YOUNG_THRESHOLD = 20_000


_FROZEN: list[bool] = []


def freeze_startup_objects() -> None:
    """Once per process: leave the objects that exist after start-up (modules, the app, its
    routes, models and schemas: ~190,000 of them) out of every later garbage collection.

    A full collection walks every tracked object; with these in, it took 120 ms on a loaded
    2-core machine, and the links and admin writes make enough garbage to start one every few
    seconds: each one stalled every request in flight (GET /v2/device p99 under links).

    Collections of the young generations are made rare as well.  At Python's default threshold
    (700 net allocations) 10 s of 20 links and 2 admin updates a second started 145 young
    collections, 13 of the middle generation (~4 ms each) and one full collection (~100 ms),
    and each stalled every request in flight as long as it ran.  At ``GC_YOUNG_THRESHOLD`` the
    same load started 19 young and 2 middle-generation collections and no full one: garbage
    waits longer in memory (at most 20,000 more objects), and far fewer requests meet a
    collection.  The older generations keep their defaults.
    """
    if not _FROZEN:
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
        _FROZEN.append(True)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    per_statement_sessionmaker: async_sessionmaker[AsyncSession]
    secret: ServerSecrets  # newest first (kit/keyring.py)
    hasher: SecretHasher
    codec: JwtCodec
    limiter: RateLimiter
    keys_loaded_at: float = 0.0
    # SQLite: a plain connection for single-statement reads of hot routes (db.create_reader).
    reader: Engine | None = None
    # SQLite: a connection on a thread of its own for short writes of hot routes (db.SqliteWriter).
    writer: SqliteWriter | None = None
    # Rendered DeviceInfo bodies, keyed by what changes whenever they would (devices/info.py).
    device_info_cache: LruCache[tuple[Any, ...], Any] = field(
        default_factory=lambda: LruCache(DEVICE_INFO_CACHE_ENTRIES)
    )
    # token -> (kid, claims) of tokens whose signature this process verified.
    claims_cache: LruCache[str, tuple[str, dict[str, Any]]] = field(
        default_factory=lambda: LruCache(CLAIMS_CACHE_ENTRIES)
    )
    activity: ActivityLog = field(default_factory=lambda: ActivityLog(timedelta(0)))
    live_devices: LiveDevices = field(
        default_factory=lambda: LiveDevices(LIVE_DEVICE_ENTRIES, "devices")
    )
    live_users: LiveUsers = field(
        default_factory=lambda: LiveUsers(LIVE_USER_ENTRIES, "tenant_users")
    )
    changes: Changes | None = None
    # Whether the database reports changes to users (migration 0014's triggers), checked at
    # start: until it does, users' rows are never kept (a process may run ahead of the schema).
    users_reported: bool = False
    # The engine of read_sessionmaker: ``engine`` on SQLite, a second pool on PostgreSQL.
    read_engine: AsyncEngine | None = None
    _activity_writer: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        # PostgreSQL: reads get a pool of their own, so that a read (GET /v2/device after its
        # kept rows were dropped) never waits for a connection behind writers that hold theirs
        # through a lock wait and a password check (links of one account queue on its row).
        read_engine = engine if settings.is_sqlite else create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        per_statement = create_sessionmaker(engine, per_statement=True)
        secret = settings.server_secrets()
        runtime = cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            # Reads need no common snapshot: per statement on PostgreSQL, deferred on SQLite.
            read_sessionmaker=create_sessionmaker(read_engine, readonly=True, per_statement=True),
            per_statement_sessionmaker=per_statement,
            secret=secret,
            hasher=SecretHasher(secret),
            codec=JwtCodec(issuer=settings.jwt_issuer),
            # A charge of its own is one upsert that stands alone: on PostgreSQL no BEGIN and
            # COMMIT round trips around it.
            limiter=RateLimiter(per_statement, engine.dialect.name),
            activity=ActivityLog(timedelta(seconds=settings.activity_write_interval_seconds)),
            reader=create_reader(settings),
            writer=create_writer(settings, engine),
        )
        runtime.changes = changes_for(engine, url=settings.database_url, dropped=runtime.dropped)
        runtime.read_engine = read_engine
        for watched in {engine, read_engine}:
            watch_local_writes(watched, AUTH_TABLES, runtime.changes, runtime.dropped)
        if runtime.writer is not None:
            runtime.writer.watch(AUTH_TABLES, runtime._written_on_writer)
        return runtime

    def dropped(self, table: str | None, row_id: int | None) -> None:
        """A row a token is checked against changed (``None``: any may have): forget it."""
        self.live_devices.drop(table, row_id)
        self.live_users.drop(table, row_id)

    def _written_on_writer(self) -> None:
        # What watch_local_writes does for the pool's connections, for the writer's.
        if isinstance(self.changes, SqliteChanges):
            self.changes.check_or_stop_trusting()
        else:
            self.dropped(None, None)

    async def _users_reported(self) -> bool:
        """Whether the triggers that report changed users exist (migration 0014)."""
        if self.settings.is_sqlite:
            query = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = :name"
        else:
            query = "SELECT count(*) FROM pg_trigger WHERE tgname = :name"
        name = USER_CHANGE_TRIGGERS["sqlite" if self.settings.is_sqlite else "postgresql"]
        async with self.engine.connect() as conn:
            return bool(await conn.scalar(text(query), {"name": name}))

    def users_current(self) -> bool:
        """Whether users' rows kept in process are known to be unchanged."""
        return self.users_reported and self.changes_current()

    def changes_current(self) -> bool:
        """Whether rows kept in process are known to be unchanged (kit/changes.py)."""
        return self.changes is not None and self.changes.current()

    async def start(self) -> None:
        """Begin the process's background work: listening for changes, writing activity."""
        if self.changes is not None:
            self.users_reported = await self._users_reported()
            await self.changes.start()
        self._activity_writer = asyncio.create_task(self._write_activity())
        freeze_startup_objects()

    @property
    def keep_retired_keys_for(self) -> timedelta:
        return timedelta(seconds=self.settings.signing_key_retire_after_seconds)

    async def load_signing_keys(self, *, create_if_missing: bool = True) -> None:
        """Read the signing keys (making the first one on a new database)."""
        if create_if_missing:
            async with session_scope(self.sessionmaker) as session:
                await keys.ensure_key(session, self.secret, self.settings.jwt_algorithm)
        async with self.read_sessionmaker() as session:
            await keys.refresh_codec(
                self.codec, session, self.secret, keep_retired_for=self.keep_retired_keys_for
            )

    async def reload_signing_keys(self) -> None:
        """Pick up keys another replica (or ``posfleet keys rotate``) added."""
        self.keys_loaded_at = time.monotonic()
        async with self.read_sessionmaker() as session:
            await keys.refresh_codec(
                self.codec, session, self.secret, keep_retired_for=self.keep_retired_keys_for
            )

    async def decode_token(self, token: str, *types: TokenType) -> dict[str, Any]:
        """Verified claims of ``token`` (see :meth:`JwtCodec.decode`).

        A token signed by a key this process has not seen yet (rotated on another replica)
        makes it reload its keys first — at most every few seconds, so that tokens with made-up
        key ids cannot turn into a database query each.
        """
        cached = self.claims_cache.get(token)
        if cached is not None:
            signed_by, claims = cached
            # Verified once; what can change since is the clock and this process's keys.
            if signed_by in self.codec.keys:
                if unix(utcnow()) > claims["exp"] + EXPIRY_LEEWAY:
                    raise Unauthorized("The token has expired", code="token_expired")
                if claims.get("typ") not in {t.value for t in types}:
                    raise Unauthorized("The token is of the wrong type for this operation")
                return dict(claims)
        kid = self.codec.unverified_kid(token)
        stale = time.monotonic() - self.keys_loaded_at > KEY_RELOAD_MIN_INTERVAL
        if kid is not None and kid not in self.codec.keys and stale:
            await self.reload_signing_keys()
        claims = self.codec.decode(token, *types)
        if kid is not None:
            self.claims_cache.put(token, (kid, dict(claims)))
        return claims

    async def housekeeping(self) -> None:
        """What each process does on a timer: take up keys rotated by another replica or by
        ``posfleet keys rotate`` (so it signs with the newest key), and drop attempt counts
        too old to matter (and, on SQLite, change log rows every process has long read)."""
        await self.reload_signing_keys()
        await self.limiter.purge(utcnow() - RATE_LIMIT_MEMORY)
        if isinstance(self.changes, SqliteChanges):
            async with session_scope(self.sessionmaker) as session:
                await session.execute(text(PURGE_CHANGE_LOG))

    async def _write_activity(self) -> None:
        """Flush the devices' activity notes about once a second while the process runs."""
        while True:
            await asyncio.sleep(ACTIVITY_FLUSH_SECONDS)
            try:
                await self.activity.flush(self.sessionmaker)
            except Exception:  # a database hiccup must not end the loop; the next round retries
                log.warning("writing device activity failed", exc_info=True)

    async def close(self) -> None:
        if self._activity_writer is not None:
            self._activity_writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._activity_writer
        if self.changes is not None:
            await self.changes.close()
        try:
            await self.activity.flush(self.sessionmaker)
        finally:
            if self.writer is not None:
                await self.writer.close()
            if self.reader is not None:
                self.reader.dispose()
            if self.read_engine is not None and self.read_engine is not self.engine:
                await self.read_engine.dispose()
            await self.engine.dispose()
