"""The audit timeline of a tenant or of one device, newest first.

Each entry names its actor and the actor's kind: ``device`` (a device's own token, or the code
a physical device presented), ``integration`` (an integration token), ``system`` (the CLI,
the demo seed, posfleet itself) or ``user`` (an admin, by user code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.audit.repository import AuditFilter, AuditRepository
from posfleet.kit.pagination import Page
from posfleet.models import AuditEvent

SYSTEM_ACTORS = frozenset({"system", "cli", "demo"})
DEVICE_ACTORS = frozenset({"pairing code", "link code", "device flow"})


def actor_kind(actor: str) -> str:
    if actor.startswith("device:") or actor in DEVICE_ACTORS:
        return "device"
    if actor.startswith("integration:"):
        return "integration"
    if actor in SYSTEM_ACTORS:
        return "system"
    return "user"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    device_uid: str
    actor: str
    actor_kind: str
    action: str
    address: str
    at: Any
    changes: dict[str, Any]

    @classmethod
    def of(cls, row: AuditEvent) -> TimelineEntry:
        return cls(
            id=row.id,
            device_uid=row.device_uid,
            actor=row.actor,
            actor_kind=actor_kind(row.actor),
            action=row.action,
            address=row.address,
            at=row.created_at,
            changes=dict(row.detail or {}),
        )


class AuditService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = AuditRepository(session)

    def record(self, tenant_id: int, actor: str, action: str, **detail: object) -> None:
        """A change to the tenant itself (no device), in the caller's unit of work."""
        self.repository.add(
            AuditEvent(tenant_id=tenant_id, actor=actor, action=action, detail=detail)
        )

    async def timeline(
        self, f: AuditFilter, page_number: int, page_size: int
    ) -> Page[TimelineEntry]:
        rows, total = await self.repository.page(f, (page_number - 1) * page_size, page_size)
        return Page(
            items=[TimelineEntry.of(row) for row in rows],
            page_number=page_number,
            page_size=page_size,
            total_count=total,
        )
