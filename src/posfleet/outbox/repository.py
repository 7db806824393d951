"""Every query about outbox messages and their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.resealing import ResealBatch, Resealer
from posfleet.kit.sealing import resealing
from posfleet.models import OutboxAttempt, OutboxEntry
from posfleet.models.enums import OutboxStatus

# HKDF purpose of the messages waiting to be sent (kit/sealing.py)
MESSAGE_SEALING = "outbox-message"
QUEUED_MESSAGES = Resealer(OutboxEntry, "sealed", resealing(MESSAGE_SEALING))


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: OutboxEntry) -> None:
        self.session.add(entry)

    async def flush(self) -> None:
        await self.session.flush()

    async def reencrypt_batch(
        self, secrets: ServerSecrets, after_id: int, limit: int, *, dry_run: bool
    ) -> ResealBatch:
        return await QUEUED_MESSAGES.batch(self.session, secrets, after_id, limit, dry_run=dry_run)

    async def claim(self, now: datetime, until: datetime, lease: str, limit: int) -> list[int]:
        """Lease up to ``limit`` due messages to the caller until ``until``.

        On PostgreSQL rows another worker holds are skipped (``FOR UPDATE SKIP LOCKED``), so
        replicas never wait for each other nor take the same row; on SQLite the lease is a
        conditional UPDATE, so of two workers that read the same row only one leases it.  The
        lease is the next attempt time moved forward: a worker that dies mid-send leaves the
        message due again once the lease has run out.
        """
        query = (
            select(OutboxEntry.id)
            .where(OutboxEntry.status == OutboxStatus.PENDING, OutboxEntry.next_attempt_at <= now)
            .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list((await self.session.scalars(query)).all())
        if not ids:
            return []
        # The lease is taken only where the row is still due: on SQLite the SELECT above runs
        # before the unit of work takes the write lock, so another worker may have leased (or
        # finished) one of these rows in between, and only its own lease may count.
        leased = await self.session.scalars(
            update(OutboxEntry)
            .where(
                OutboxEntry.id.in_(ids),
                OutboxEntry.status == OutboxStatus.PENDING,
                OutboxEntry.next_attempt_at <= now,
            )
            .values(next_attempt_at=until, lease=lease)
            .returning(OutboxEntry.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(leased.all())

    async def entries(self, ids: Sequence[int]) -> Sequence[OutboxEntry]:
        rows = await self.session.scalars(
            select(OutboxEntry).where(OutboxEntry.id.in_(ids)).order_by(OutboxEntry.id)
        )
        return rows.all()

    async def finish(self, entry_id: int, lease: str, **values: object) -> bool:
        """Record the outcome only if the caller still holds the lease: a worker whose lease ran
        out (and whose message another worker took) must not overwrite the other's result."""
        result = await self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.lease == lease)
            .values(lease=None, **values)
        )
        return affected_rows(result) == 1

    def add_attempt(self, attempt: OutboxAttempt) -> None:
        self.session.add(attempt)

    async def by_uid(self, uid: str, tenant_id: int) -> OutboxEntry | None:
        return await self.session.scalar(
            select(OutboxEntry).where(OutboxEntry.uid == uid, OutboxEntry.tenant_id == tenant_id)
        )

    async def of_endpoint(
        self, endpoint_id: int, limit: int, before_id: int | None = None
    ) -> Sequence[OutboxEntry]:
        query = select(OutboxEntry).where(OutboxEntry.endpoint_id == endpoint_id)
        if before_id is not None:
            query = query.where(OutboxEntry.id < before_id)
        rows = await self.session.scalars(query.order_by(OutboxEntry.id.desc()).limit(limit))
        return rows.all()

    async def attempts_of(self, entry_ids: Sequence[int]) -> Sequence[OutboxAttempt]:
        if not entry_ids:
            return []
        rows = await self.session.scalars(
            select(OutboxAttempt)
            .where(OutboxAttempt.entry_id.in_(entry_ids))
            .order_by(OutboxAttempt.id)
        )
        return rows.all()

    async def dead(self, tenant_id: int | None, limit: int) -> Sequence[OutboxEntry]:
        query = select(OutboxEntry).where(OutboxEntry.status == OutboxStatus.DEAD)
        if tenant_id is not None:
            query = query.where(OutboxEntry.tenant_id == tenant_id)
        rows = await self.session.scalars(query.order_by(OutboxEntry.id.desc()).limit(limit))
        return rows.all()

    async def depth(self) -> tuple[int, datetime | None]:
        """How many messages wait to be sent, and since when the oldest waits."""
        row = (
            await self.session.execute(
                select(func.count(), func.min(OutboxEntry.created_at)).where(
                    OutboxEntry.status == OutboxStatus.PENDING
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def requeue(self, entry_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id, OutboxEntry.status != OutboxStatus.PENDING)
            .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, lease=None)
        )
        return affected_rows(result) == 1
