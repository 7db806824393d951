"""Queries reading the audit trail (its rows are written where the actions happen)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditFilter:
    tenant_id: int
    device_uid: str | None = None
    actions: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [AuditEvent.tenant_id == self.tenant_id]
        if self.device_uid is not None:
            found.append(AuditEvent.device_uid == self.device_uid)
        if self.actions:
            found.append(AuditEvent.action.in_(list(self.actions)))
        if self.since is not None:
            found.append(AuditEvent.created_at >= self.since)
        if self.until is not None:
            found.append(AuditEvent.created_at < self.until)
        return found


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, event: AuditEvent) -> None:
        self.session.add(event)

    async def page(self, f: AuditFilter, offset: int, limit: int) -> tuple[list[AuditEvent], int]:
        where = f.conditions()
        total = await self.session.scalar(select(func.count(AuditEvent.id)).where(*where))
        rows = await self.session.scalars(
            select(AuditEvent)
            .where(*where)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)
