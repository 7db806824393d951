from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column


class AuditEvent(Base):
    """Who did what to which device, kept after the device itself is deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_device", "tenant_id", "device_uid", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_uid: Mapped[str] = mapped_column(String(64), default="")
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_at_column()
