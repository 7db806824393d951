"""Every query about webhook endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.resealing import ResealBatch, Resealer
from posfleet.kit.sealing import resealing
from posfleet.models import WebhookEndpoint

# HKDF purpose of endpoint signing secrets (kit/sealing.py)
SECRET_SEALING = "webhook-secret"


ENDPOINT_SECRETS = Resealer(WebhookEndpoint, "sealed_secret", resealing(SECRET_SEALING))

_ENABLED_OF_TENANT = select(WebhookEndpoint).where(
    WebhookEndpoint.tenant_id == bindparam("tenant_id"), WebhookEndpoint.enabled.is_(True)
)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def flush(self) -> None:
        await self.session.flush()

    async def reencrypt_batch(
        self, secrets: ServerSecrets, after_id: int, limit: int, *, dry_run: bool
    ) -> ResealBatch:
        return await ENDPOINT_SECRETS.batch(self.session, secrets, after_id, limit, dry_run=dry_run)

    async def delete(self, endpoint: WebhookEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()

    async def by_uid(self, tenant_id: int, uid: str) -> WebhookEndpoint | None:
        return await self.session.scalar(
            select(WebhookEndpoint).where(
                WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.uid == uid
            )
        )

    async def by_id(self, endpoint_id: int) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def of_tenant(self, tenant_id: int) -> Sequence[WebhookEndpoint]:
        rows = await self.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.tenant_id == tenant_id)
            .order_by(WebhookEndpoint.id)
        )
        return rows.all()

    async def enabled_of_tenant(self, tenant_id: int) -> Sequence[WebhookEndpoint]:
        # Every audited device action asks this: the statement is built once.
        return (await self.session.scalars(_ENABLED_OF_TENANT, {"tenant_id": tenant_id})).all()

    async def mark_failing(self, endpoint_id: int, now: datetime) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
        )

    async def disable(self, endpoint_id: int, reason: str) -> bool:
        """Disable once: of concurrent failures that each find it overdue, one wins."""
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason)
        )
        return affected_rows(result) == 1

    async def mark_healthy(self, endpoint_id: int) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
        )
