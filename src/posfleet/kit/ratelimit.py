"""Attempt budgets shared by every replica: fixed-window counters kept in the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from posfleet.db import affected_rows, on_rollback
from posfleet.errors import TooManyRequests
from posfleet.kit.clock import utcnow
from posfleet.kit.meters import count_refusal
from posfleet.models.rate_limit_bucket import RateLimitBucket


class RateLimiter:
    """Counts attempts per key in windows of ``window`` seconds, in the database.

    Pass the request's ``session`` once its unit of work has touched the database: SQLite has
    one writer at a time, so a second transaction would wait for the first one forever.  The
    attempt then commits with the request, or, should the request fail and roll back, in a
    transaction of its own afterwards (:func:`posfleet.db.on_rollback`): every attempt counts,
    the failed ones most of all.  Without a session the hit commits in its own transaction.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessionmaker = sessionmaker
        self._insert = pg_insert if dialect == "postgresql" else sqlite_insert

    async def hit(
        self,
        key: str,
        *,
        limit: int,
        window: int,
        message: str,
        session: AsyncSession | None = None,
    ) -> None:
        """Charge one attempt to ``key``; raise 429 once more than ``limit`` fall in ``window``.

        The count is a sliding-window estimate: this window's attempts plus the previous
        window's, weighted by how much of it still lies within the last ``window`` seconds.  A
        burst that straddles a window boundary is therefore counted whole.
        """
        if session is not None:
            estimate, reset_in, start = await self._count(session, key, window)

            async def charge_again(own: AsyncSession) -> None:
                await self._charge(own, key, start)

            on_rollback(session, charge_again)
        else:
            async with self._sessionmaker() as own:
                estimate, reset_in, _ = await self._count(own, key, window)
                await own.commit()
        if estimate > limit:
            count_refusal(key.split(":", 1)[0])
            raise TooManyRequests(message, retry_after=reset_in)

    async def _charge(self, session: AsyncSession, key: str, start: datetime) -> int:
        insert = self._insert(RateLimitBucket).values(key=key, window_start=start, count=1)
        upsert = insert.on_conflict_do_update(
            index_elements=[RateLimitBucket.key, RateLimitBucket.window_start],
            set_={"count": RateLimitBucket.count + 1},
        ).returning(RateLimitBucket.count)
        return int((await session.execute(upsert)).scalar_one())

    async def _count(
        self, session: AsyncSession, key: str, window: int
    ) -> tuple[float, int, datetime]:
        now = utcnow()
        start = _window_start(now, window)
        current = await self._charge(session, key, start)
        previous = await session.scalar(
            select(RateLimitBucket.count).where(
                RateLimitBucket.key == key,
                RateLimitBucket.window_start == start - timedelta(seconds=window),
            )
        )
        elapsed = (now - start).total_seconds() / window
        estimate = current + (previous or 0) * (1 - elapsed)
        reset_in = int((start + timedelta(seconds=window) - now).total_seconds()) + 1
        return estimate, reset_in, start

    async def purge(self, older_than: datetime) -> int:
        async with self._sessionmaker() as session:
            result = await session.execute(
                delete(RateLimitBucket).where(RateLimitBucket.window_start < older_than)
            )
            await session.commit()
        return affected_rows(result)


def _window_start(now: datetime, window: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window, tz=now.tzinfo)
