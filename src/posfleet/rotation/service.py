"""Rotating the server secret: what still depends on each one, and moving everything that is
encrypted onto the newest (``posfleet secrets``).

What is *encrypted* (signing keys, webhook endpoint secrets, messages waiting in the outbox)
can be re-encrypted here.  What is *hashed* (codes, tokens, API keys) cannot: only a hash is
kept.  Single-use codes age out (they expire or are spent); device refresh tokens and API keys
are hashed anew under the newest secret the first time they are used after a rotation; the
rest keeps verifying under its old secret until it is replaced or the secret is removed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import session_scope
from posfleet.kit.clock import utcnow
from posfleet.kit.resealing import ResealBatch
from posfleet.outbox.service import OutboxService
from posfleet.rotation.repository import KeyCount, RotationRepository
from posfleet.runtime import Runtime
from posfleet.tokens import keys
from posfleet.webhooks.service import WebhookService

BATCH = 500

Batch = Callable[[AsyncSession, Runtime, int, int, bool], Awaitable[ResealBatch]]


async def _signing_keys(
    session: AsyncSession, runtime: Runtime, after: int, limit: int, dry_run: bool
) -> ResealBatch:
    return await keys.reencrypt_batch(session, runtime.secret, after, limit, dry_run=dry_run)


async def _webhook_secrets(
    session: AsyncSession, runtime: Runtime, after: int, limit: int, dry_run: bool
) -> ResealBatch:
    service = WebhookService(session, runtime)
    return await service.reencrypt_batch(runtime.secret, after, limit, dry_run=dry_run)


async def _queued_messages(
    session: AsyncSession, runtime: Runtime, after: int, limit: int, dry_run: bool
) -> ResealBatch:
    service = OutboxService(session, runtime)
    return await service.reencrypt_batch(runtime.secret, after, limit, dry_run=dry_run)


ENCRYPTED: dict[str, Batch] = {
    "signing_keys": _signing_keys,
    "webhook_endpoints": _webhook_secrets,
    "outbox_entries": _queued_messages,
}


@dataclass(slots=True)
class Reencrypted:
    table: str
    resealed: int = 0
    unreadable: int = 0


async def counts(runtime: Runtime) -> list[KeyCount]:
    settings = runtime.settings
    async with runtime.read_sessionmaker() as session:
        return await RotationRepository(session).counts(
            utcnow(),
            refresh_idle=timedelta(seconds=settings.device_refresh_idle_seconds),
            keep_keys=runtime.keep_retired_keys_for,
        )


async def reencrypt(
    runtime: Runtime,
    *,
    dry_run: bool,
    progress: Callable[[Reencrypted], None],
    batch: int = BATCH,
) -> list[Reencrypted]:
    """Re-encrypt every encrypted row under the newest secret, one unit of work per batch
    (``progress`` hears after each); a dry run counts what would be."""
    done = []
    for table, step in ENCRYPTED.items():
        result = Reencrypted(table)
        after = 0
        while True:
            async with session_scope(runtime.sessionmaker) as session:
                outcome = await step(session, runtime, after, batch, dry_run)
            if outcome.last_id is None:
                break
            after = outcome.last_id
            result.resealed += outcome.resealed
            result.unreadable += outcome.unreadable
            progress(result)
        done.append(result)
    return done
