from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.kit import client_address
from posfleet.models.base import Base, created_at_column


class AuditEvent(Base):
    """Who did what to which device, kept after the device itself is deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_device", "tenant_id", "device_uid", "created_at"),
        Index("ix_audit_events_tenant_time", "tenant_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_uid: Mapped[str] = mapped_column(String(64), default="")
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The client address of the request that did it; empty for the CLI and the system.
    address: Mapped[str] = mapped_column(
        String(64), default=client_address.current, server_default=""
    )
    created_at: Mapped[datetime] = created_at_column()
