"""Webhook endpoints of a tenant, and publishing events to them.

An event is published in the unit of work of the change it reports: one outbox message per
enabled endpoint subscribed to its type, committed (or rolled back) with the change.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import NotFound, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.resealing import ResealBatch
from posfleet.kit.sealing import Sealer
from posfleet.models import AuditEvent, OutboxEntry, WebhookEndpoint
from posfleet.outbox.service import OutboxService
from posfleet.runtime import Runtime
from posfleet.webhooks.addresses import validate_endpoint_url
from posfleet.webhooks.events import EVENT_TYPES, envelope
from posfleet.webhooks.repository import SECRET_SEALING, WebhookRepository

log = structlog.get_logger("posfleet.webhooks")
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_secret(secret: str) -> str:
    body = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except ValueError:
        raw = b""
    if len(raw) < 24 or len(raw) > 64:
        raise ValidationFailed(
            "The secret must be whsec_ followed by 24 to 64 bytes in base64",
            errors={"secret": "not a whsec_ secret of 24 to 64 bytes"},
        )
    return SECRET_PREFIX + body


def _check_events(events: Sequence[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}",
            errors={"events": f"unknown: {', '.join(unknown)}"},
        )
    return sorted(set(events))


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    url: str | None = None
    description: str | None = None
    events: list[str] | None = None
    enabled: bool | None = None
    secret: str | None = None


class WebhookService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = WebhookRepository(session)
        self.outbox = OutboxService(session, runtime)
        self.session = session
        self.settings = runtime.settings
        self.sealer = Sealer(runtime.secret, SECRET_SEALING)

    async def reencrypt_batch(
        self, secrets: ServerSecrets, after_id: int, limit: int, *, dry_run: bool
    ) -> ResealBatch:
        """Seal up to ``limit`` endpoint secrets (ids above ``after_id``) under the newest
        server secret."""
        return await self.repository.reencrypt_batch(secrets, after_id, limit, dry_run=dry_run)

    def secret_of(self, endpoint: WebhookEndpoint) -> str:
        """The endpoint's signing secret; raises :class:`~posfleet.kit.sealing.RetiredSecret`
        when it was sealed under a server secret that is no longer listed."""
        return self.sealer.open(endpoint.sealed_secret, endpoint.secret_key_id).decode()

    async def create(
        self,
        tenant_id: int,
        url: str,
        events: Sequence[str],
        *,
        description: str = "",
        secret: str | None = None,
        enabled: bool = True,
    ) -> tuple[WebhookEndpoint, str]:
        """A new endpoint and its signing secret (given, or made here)."""
        await validate_endpoint_url(
            url, allow_private=self.settings.webhook_allow_private_addresses
        )
        secret = _check_secret(secret) if secret else new_secret()
        endpoint = await self.repository.add(
            WebhookEndpoint(
                tenant_id=tenant_id,
                url=url,
                description=description,
                events=_check_events(events),
                sealed_secret=self.sealer.seal(secret.encode()),
                secret_key_id=self.sealer.key_id,
                enabled=enabled,
                disabled_reason="",
            )
        )
        return endpoint, secret

    async def get(self, tenant_id: int, uid: str) -> WebhookEndpoint:
        endpoint = await self.repository.by_uid(tenant_id, uid)
        if endpoint is None:
            raise NotFound("No such webhook endpoint")
        return endpoint

    async def of_tenant(self, tenant_id: int) -> Sequence[WebhookEndpoint]:
        return await self.repository.of_tenant(tenant_id)

    async def update(self, endpoint: WebhookEndpoint, changes: EndpointChanges) -> WebhookEndpoint:
        if changes.url is not None:
            await validate_endpoint_url(
                changes.url, allow_private=self.settings.webhook_allow_private_addresses
            )
            endpoint.url = changes.url
        if changes.description is not None:
            endpoint.description = changes.description
        if changes.events is not None:
            endpoint.events = _check_events(changes.events)
        if changes.secret is not None:
            endpoint.sealed_secret = self.sealer.seal(_check_secret(changes.secret).encode())
            endpoint.secret_key_id = self.sealer.key_id
        if changes.enabled is not None:
            endpoint.enabled = changes.enabled
            if changes.enabled:
                endpoint.disabled_reason = ""
                endpoint.failing_since = None
        await self.repository.flush()
        return endpoint

    async def rotate_secret(self, endpoint: WebhookEndpoint) -> str:
        """Give the endpoint a new signing secret made here; the old one stops at once."""
        secret = new_secret()
        await self.update(endpoint, EndpointChanges(secret=secret))
        return secret

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.repository.delete(endpoint)

    async def publish(self, tenant_id: int, event_type: str, data: dict[str, Any]) -> int:
        """Queue ``event_type`` for every enabled endpoint of the tenant that wants it."""
        assert event_type in EVENT_TYPES, event_type
        count = 0
        body = envelope(event_type, utcnow(), data)
        for endpoint in await self.repository.enabled_of_tenant(tenant_id):
            if event_type in endpoint.events:
                self.outbox.enqueue_webhook(tenant_id, endpoint.id, event_type, body)
                count += 1
        return count

    async def send_test(self, endpoint: WebhookEndpoint) -> OutboxEntry:
        """A ``webhook.test`` event to this endpoint alone, whatever it subscribed to."""
        body = envelope("webhook.test", utcnow(), {"endpointUid": endpoint.uid})
        entry = self.outbox.enqueue_webhook(endpoint.tenant_id, endpoint.id, "webhook.test", body)
        await self.repository.flush()
        return entry

    async def redeliver(self, endpoint: WebhookEndpoint, message_uid: str) -> OutboxEntry:
        """Send a message of this endpoint again, under the same ``webhook-id`` (a receiver
        that already processed it may drop it), with a fresh retry budget."""
        entry = await self.outbox.get(message_uid, endpoint.tenant_id)
        if entry.endpoint_id != endpoint.id:
            raise NotFound("No such message for this endpoint")
        return await self.outbox.resend(entry)

    # Health --------------------------------------------------------------------------------

    async def record_result(self, endpoint_id: int, ok: bool, now: datetime) -> None:
        """Keep when the endpoint started failing; disable it after the allowed days."""
        if ok:
            await self.repository.mark_healthy(endpoint_id)
            return
        await self.repository.mark_failing(endpoint_id, now)
        endpoint = await self.repository.by_id(endpoint_id)
        if endpoint is None or not endpoint.enabled or endpoint.failing_since is None:
            return
        allowed = timedelta(days=self.settings.webhook_disable_after_days)
        if now - endpoint.failing_since < allowed:
            return
        reason = (
            f"every delivery failed for {self.settings.webhook_disable_after_days} days "
            f"(since {endpoint.failing_since.isoformat()})"
        )
        if not await self.repository.disable(endpoint.id, reason):
            return
        await self.session.refresh(endpoint)
        self.session.add(
            AuditEvent(
                tenant_id=endpoint.tenant_id,
                device_uid="",
                actor="system",
                action="webhook endpoint disabled",
                detail={"endpointUid": endpoint.uid, "url": endpoint.url},
            )
        )
        log.warning("webhook endpoint disabled", endpoint=endpoint.uid, url=endpoint.url)
        await self.repository.flush()
        await self.publish(
            endpoint.tenant_id,
            "endpoint.disabled",
            {"endpointUid": endpoint.uid, "url": endpoint.url, "reason": reason},
        )
