"""What a running posfleet process holds: engine, session factories, keys, hashers, limits."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from posfleet.config import Settings
from posfleet.db import create_engine, create_sessionmaker
from posfleet.kit.clock import utcnow
from posfleet.kit.hashing import SecretHasher
from posfleet.kit.jwt import JwtCodec, TokenType
from posfleet.kit.lru import LruCache
from posfleet.kit.ratelimit import RateLimiter
from posfleet.tokens import keys

KEY_RELOAD_MIN_INTERVAL = 5.0  # seconds

# Rate-limit windows are seconds to minutes; a day of counts is more than any window needs.
RATE_LIMIT_MEMORY = timedelta(days=1)

# ~4.5 kB per body: a few tens of megabytes at most, more devices than one replica usually serves.
DEVICE_INFO_CACHE_ENTRIES = 8192


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    per_statement_sessionmaker: async_sessionmaker[AsyncSession]
    secret: bytes
    hasher: SecretHasher
    codec: JwtCodec
    limiter: RateLimiter
    keys_loaded_at: float = 0.0
    # Rendered DeviceInfo bodies, keyed by what changes whenever they would (devices/info.py).
    device_info_cache: LruCache[tuple[Any, ...], Any] = field(
        default_factory=lambda: LruCache(DEVICE_INFO_CACHE_ENTRIES)
    )

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        secret = settings.secret()
        return cls(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            read_sessionmaker=create_sessionmaker(engine, readonly=True),
            per_statement_sessionmaker=create_sessionmaker(engine, per_statement=True),
            secret=secret,
            hasher=SecretHasher(secret),
            codec=JwtCodec(issuer=settings.jwt_issuer),
            limiter=RateLimiter(sessionmaker, engine.dialect.name),
        )

    @property
    def keep_retired_keys_for(self) -> timedelta:
        return timedelta(seconds=self.settings.signing_key_retire_after_seconds)

    async def load_signing_keys(self, *, create_if_missing: bool = True) -> None:
        """Read the signing keys (making the first one on a new database)."""
        async with self.sessionmaker() as session:
            if create_if_missing:
                await keys.ensure_key(session, self.secret, self.settings.jwt_algorithm)
                await session.commit()
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
        kid = self.codec.unverified_kid(token)
        stale = time.monotonic() - self.keys_loaded_at > KEY_RELOAD_MIN_INTERVAL
        if kid is not None and kid not in self.codec.keys and stale:
            await self.reload_signing_keys()
        return self.codec.decode(token, *types)

    async def housekeeping(self) -> None:
        """What each process does on a timer: take up keys rotated by another replica or by
        ``posfleet keys rotate`` (so it signs with the newest key), and drop attempt counts
        too old to matter."""
        await self.reload_signing_keys()
        await self.limiter.purge(utcnow() - RATE_LIMIT_MEMORY)

    async def close(self) -> None:
        await self.engine.dispose()
