"""Putting messages in the outbox, and what admins may do with them.

A message is written in the caller's unit of work, so it exists exactly when the change it
reports was committed; the in-process worker is woken once that commit has happened.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import after_commit
from posfleet.errors import BadRequest, NotFound
from posfleet.kit.clock import utcnow
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.resealing import ResealBatch
from posfleet.kit.sealing import Sealer
from posfleet.models import OutboxAttempt, OutboxEntry
from posfleet.models.base import new_uid
from posfleet.models.enums import OutboxKind, OutboxStatus
from posfleet.outbox import signal
from posfleet.outbox.repository import MESSAGE_SEALING, OutboxRepository
from posfleet.runtime import Runtime


def message_sealer(runtime: Runtime) -> Sealer:
    return Sealer(runtime.secret, MESSAGE_SEALING)


@dataclass(frozen=True, slots=True)
class SealedMessage:
    subject: str
    body: str

    def seal(self, sealer: Sealer) -> bytes:
        return sealer.seal(json.dumps({"subject": self.subject, "body": self.body}).encode())

    @classmethod
    def open(cls, sealer: Sealer, sealed: bytes, key_id: str) -> SealedMessage:
        values = json.loads(sealer.open(sealed, key_id))
        return cls(subject=values["subject"], body=values["body"])


def new_message_id() -> str:
    """A Standard Webhooks message id (``msg_…``), the same on every attempt."""
    return f"msg_{new_uid()}"


class OutboxService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = OutboxRepository(session)
        self.session = session
        self.runtime = runtime

    def _queue(self, entry: OutboxEntry) -> OutboxEntry:
        self.repository.add(entry)
        after_commit(self.session, lambda: signal.wake(self.runtime))
        return entry

    async def reencrypt_batch(
        self, secrets: ServerSecrets, after_id: int, limit: int, *, dry_run: bool
    ) -> ResealBatch:
        """Seal up to ``limit`` waiting messages (ids above ``after_id``) under the newest
        server secret."""
        return await self.repository.reencrypt_batch(secrets, after_id, limit, dry_run=dry_run)

    def enqueue_delivery(
        self, tenant_id: int, delivery_id: int, message: SealedMessage
    ) -> OutboxEntry:
        sealer = message_sealer(self.runtime)
        return self._queue(
            OutboxEntry(
                uid=new_message_id(),
                tenant_id=tenant_id,
                kind=OutboxKind.DELIVERY,
                delivery_id=delivery_id,
                payload={},
                sealed=message.seal(sealer),
                secret_key_id=sealer.key_id,
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )

    def enqueue_webhook(
        self, tenant_id: int, endpoint_id: int, event_type: str, payload: dict[str, Any]
    ) -> OutboxEntry:
        return self._queue(
            OutboxEntry(
                uid=new_message_id(),
                tenant_id=tenant_id,
                kind=OutboxKind.WEBHOOK,
                endpoint_id=endpoint_id,
                event_type=event_type,
                payload=payload,
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )

    async def get(self, uid: str, tenant_id: int) -> OutboxEntry:
        entry = await self.repository.by_uid(uid, tenant_id)
        if entry is None:
            raise NotFound("No such message")
        return entry

    async def retry_dead(self, uid: str, tenant_id: int) -> OutboxEntry:
        """Send a dead webhook message again, with the same message id and a fresh budget.

        A dead code delivery is not retried here: its code was blanked when it died, and the
        pairing-delivery retry sends a fresh code instead.
        """
        entry = await self.get(uid, tenant_id)
        if entry.status is not OutboxStatus.DEAD:
            raise BadRequest("Only a dead message can be retried", code="message_not_dead")
        return await self.resend(entry)

    async def resend(self, entry: OutboxEntry) -> OutboxEntry:
        """Queue a finished webhook message again (same message id, fresh budget)."""
        if entry.kind is not OutboxKind.WEBHOOK:
            raise BadRequest(
                "A code delivery is retried with a fresh code (…/deliveries/{uid}/retry)",
                code="message_not_retriable",
            )
        if not await self.repository.requeue(entry.id, utcnow()):
            raise BadRequest("The message is already waiting to be sent", code="message_pending")
        await self.session.refresh(entry)
        after_commit(self.session, lambda: signal.wake(self.runtime))
        return entry

    async def dead(self, tenant_id: int | None, limit: int = 100) -> Sequence[OutboxEntry]:
        return await self.repository.dead(tenant_id, limit)

    async def log_of_endpoint(
        self, endpoint_id: int, limit: int, before_id: int | None = None
    ) -> tuple[Sequence[OutboxEntry], dict[int, list[OutboxAttempt]]]:
        entries = await self.repository.of_endpoint(endpoint_id, limit, before_id)
        attempts: dict[int, list[OutboxAttempt]] = {entry.id: [] for entry in entries}
        for attempt in await self.repository.attempts_of(list(attempts)):
            attempts[attempt.entry_id].append(attempt)
        return entries, attempts

    async def attempts(self, entry: OutboxEntry) -> Sequence[OutboxAttempt]:
        return await self.repository.attempts_of([entry.id])
