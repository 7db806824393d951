"""The outbox worker: takes due messages, sends them, records every attempt.

Delivery is at least once.  A message is leased (``outbox_lease_seconds``) before it is sent
and its outcome recorded after; a worker that dies in between leaves the message to be sent
again once the lease runs out, so a receiver may see it twice — with the same ``webhook-id``
(webhooks) or the same ``X-Posfleet-Delivery`` reference (mail, SMS).  Under normal operation
each message is sent once, however many replicas run a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from posfleet.db import session_scope
from posfleet.delivery.service import DeliveryService
from posfleet.delivery.transport import DeliveryFailed, OutgoingMessage
from posfleet.kit.clock import utcnow
from posfleet.kit.meters import count_outcome
from posfleet.kit.sealing import RetiredSecret
from posfleet.models import OutboxAttempt, OutboxEntry
from posfleet.models.enums import DeliveryChannel, OutboxKind, OutboxStatus
from posfleet.outbox import schedule, signal
from posfleet.outbox.repository import OutboxRepository
from posfleet.outbox.service import SealedMessage, message_sealer
from posfleet.runtime import Runtime
from posfleet.webhooks.sender import WebhookResult, send_webhook
from posfleet.webhooks.service import WebhookService

log = structlog.get_logger("posfleet.outbox")

# A round ends within the transports' timeouts; a stuck one is cut short after this.
STOP_GRACE_SECONDS = 15.0


@dataclass(slots=True)
class _Job:
    entry_id: int
    uid: str
    tenant_id: int
    kind: OutboxKind
    attempts: int
    # code deliveries
    delivery: OutgoingMessage | None = None
    transport: str = ""
    # webhooks
    url: str = ""
    secret: str = ""
    payload: dict[str, Any] | None = None
    endpoint_id: int | None = None
    endpoint_enabled: bool = True
    endpoint_failing: bool = False
    # why the message cannot be read (sealed under a server secret no longer listed): it dies
    unreadable: str = ""


class OutboxWorker:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._http: httpx.AsyncClient | None = None
        self._stopping = asyncio.Event()

    def _client(self) -> httpx.AsyncClient:
        assert self._http is not None  # made by run_once or run_forever
        return self._http

    def _open(self) -> bool:
        """Make the HTTP client (kept across rounds by ``run_forever``); True if made now."""
        if self._http is not None:
            return False
        self._http = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds, follow_redirects=False
        )
        return True

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # One round -------------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> int:
        """Send what is due at ``now`` (the present unless a test moves it); how many were
        handled.  Tests and ``posfleet outbox run`` call it directly."""
        now = now or utcnow()
        lease = secrets.token_hex(8)
        opened = self._open()
        try:
            jobs = await self._claim(now, lease)
            if jobs:
                await asyncio.gather(*(self._handle(job, lease, now) for job in jobs))
        finally:
            if opened:
                await self.close()
        return len(jobs)

    async def _claim(self, now: datetime, lease: str) -> list[_Job]:
        until = now + timedelta(seconds=self.settings.outbox_lease_seconds)
        async with session_scope(self.runtime.sessionmaker) as session:
            repository = OutboxRepository(session)
            ids = await repository.claim(now, until, lease, self.settings.outbox_batch_size)
            if not ids:
                return []
            entries = await repository.entries(ids)
            deliveries = DeliveryService(session, self.runtime)
            webhooks = WebhookService(session, self.runtime)
            return [await self._job(entry, deliveries, webhooks) for entry in entries]

    async def _job(
        self, entry: OutboxEntry, deliveries: DeliveryService, webhooks: WebhookService
    ) -> _Job:
        job = _Job(entry.id, entry.uid, entry.tenant_id, entry.kind, entry.attempts)
        if entry.kind is OutboxKind.DELIVERY:
            assert entry.delivery_id is not None
            assert entry.sealed is not None
            delivery = await deliveries.repository.get_by_id(entry.delivery_id)
            assert delivery is not None  # the entry goes with its delivery (cascade)
            try:
                message = SealedMessage.open(
                    message_sealer(self.runtime), entry.sealed, entry.secret_key_id or ""
                )
            except RetiredSecret as exc:
                job.unreadable = str(exc)
                message = SealedMessage(subject="", body="")
            job.transport = delivery.transport
            job.delivery = OutgoingMessage(
                delivery_id=delivery.id,
                reference=delivery.uid,
                channel=DeliveryChannel(delivery.channel),
                recipient=delivery.destination,
                subject=message.subject,
                body=message.body,
            )
        else:
            assert entry.endpoint_id is not None
            endpoint = await webhooks.repository.by_id(entry.endpoint_id)
            assert endpoint is not None  # the entry goes with its endpoint (cascade)
            job.url = endpoint.url
            try:
                job.secret = webhooks.secret_of(endpoint)
            except RetiredSecret as exc:
                job.unreadable = str(exc)
            job.payload = entry.payload
            job.endpoint_id = endpoint.id
            job.endpoint_enabled = endpoint.enabled
            job.endpoint_failing = endpoint.failing_since is not None
        return job

    async def _handle(self, job: _Job, lease: str, now: datetime) -> None:
        started = time.perf_counter()
        try:
            result = await self._send(job)
        except Exception as exc:  # a bug in one transport must not lose the message
            log.exception("outbox send failed unexpectedly", message=job.uid)
            result = WebhookResult(False, None, f"internal error: {type(exc).__name__}")
        duration = int((time.perf_counter() - started) * 1000)
        try:
            await self._record(job, lease, now, result, duration)
        except Exception:
            # The lease runs out and the message is sent again: at least once, never lost.
            log.exception("outbox outcome could not be recorded", message=job.uid)

    async def _send(self, job: _Job) -> WebhookResult:
        if job.unreadable:
            return WebhookResult(False, None, job.unreadable)
        if job.kind is OutboxKind.WEBHOOK:
            if not job.endpoint_enabled:
                return WebhookResult(False, None, "endpoint disabled")
            assert job.payload is not None
            return await send_webhook(
                self._client(),
                url=job.url,
                secret=job.secret,
                message_id=job.uid,
                payload=job.payload,
                allow_private=self.settings.webhook_allow_private_addresses,
            )
        assert job.delivery is not None
        try:
            async with session_scope(self.runtime.sessionmaker) as session:
                transport = DeliveryService(session, self.runtime).transport_named(job.transport)
                await transport.send(job.delivery)
        except DeliveryFailed as exc:
            return WebhookResult(False, None, exc.reason)
        return WebhookResult(True, None, "")

    async def _record(
        self, job: _Job, lease: str, now: datetime, result: WebhookResult, duration: int
    ) -> None:
        attempts = job.attempts + 1
        at = utcnow()
        wait = None if result.ok else schedule.next_wait(job.kind, attempts, self.settings)
        if result.ok:
            values: dict[str, Any] = {
                "status": OutboxStatus.SENT,
                "finished_at": at,
                "sealed": None,
            }
        elif (
            wait is None
            or job.unreadable
            or (job.kind is OutboxKind.WEBHOOK and not job.endpoint_enabled)
        ):
            values = {"status": OutboxStatus.DEAD, "finished_at": at, "sealed": None}
        else:
            values = {"next_attempt_at": now + wait}
        values.update(
            attempts=attempts, last_error=result.error, last_status_code=result.status_code
        )
        # On SQLite the outcomes of one round take turns in the engine's write queue (db.py).
        async with session_scope(self.runtime.sessionmaker) as session:
            repository = OutboxRepository(session)
            if not await repository.finish(job.entry_id, lease, **values):
                log.warning("outbox lease lost before the outcome was recorded", message=job.uid)
                return
            repository.add_attempt(
                OutboxAttempt(
                    entry_id=job.entry_id,
                    attempted_at=at,
                    ok=result.ok,
                    status_code=result.status_code,
                    error=result.error,
                    duration_ms=duration,
                )
            )
            dead = values.get("status") is OutboxStatus.DEAD
            if job.kind is OutboxKind.DELIVERY:
                assert job.delivery is not None
                await DeliveryService(session, self.runtime).record_attempt(
                    job.delivery.delivery_id, ok=result.ok, error=result.error, dead=dead, at=at
                )
            elif not result.ok or job.endpoint_failing:  # a healthy endpoint stays as it is
                assert job.endpoint_id is not None
                await WebhookService(session, self.runtime).record_result(
                    job.endpoint_id, result.ok, now
                )
        count_outcome(job.kind.value, ok=result.ok, dead=dead)
        if not result.ok:
            log.info(
                "outbox attempt failed",
                message=job.uid,
                attempt=attempts,
                error=result.error,
                dead=dead,
            )

    # The loop --------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Rounds until :meth:`stop`; a commit in this process wakes it, otherwise it polls."""
        wakeup = signal.register(self.runtime)
        self._open()
        try:
            while not self._stopping.is_set():
                wakeup.clear()
                try:
                    handled = await self.run_once()
                except Exception:  # a database hiccup must not end the loop
                    log.warning("outbox round failed", exc_info=True)
                    handled = 0
                if handled:
                    continue  # more may be due
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        wakeup.wait(), timeout=self.settings.outbox_poll_interval_seconds
                    )
        finally:
            signal.unregister(self.runtime)
            await self.close()

    def request_stop(self) -> None:
        """End the loop after the round in progress (SIGTERM of ``posfleet worker``)."""
        self._stopping.set()
        signal.wake(self.runtime)

    async def stop(self, task: asyncio.Task[None], grace: float = STOP_GRACE_SECONDS) -> None:
        """Let the round in progress finish (a round cut short inside its transaction could
        leave SQLite locked until the connection is collected), then end the loop."""
        self.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def start(runtime: Runtime) -> tuple[OutboxWorker, asyncio.Task[None]] | None:
    """The in-process worker of a server, unless ``outbox_worker`` is off."""
    if not runtime.settings.outbox_worker:
        return None
    worker = OutboxWorker(runtime)
    return worker, asyncio.create_task(worker.run_forever(), name="posfleet-outbox")


async def stop(running: tuple[OutboxWorker, asyncio.Task[None]] | None) -> None:
    if running is not None:
        await running[0].stop(running[1])
