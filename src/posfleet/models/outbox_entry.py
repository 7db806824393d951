from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import OutboxKind, OutboxStatus


class OutboxEntry(Base):
    """A message committed with the change it reports, for a worker to send after commit.

    ``uid`` is the message id a receiver sees (``webhook-id``); it stays the same on every
    attempt, so a receiver can drop a duplicate.  A code delivery's subject and body are kept
    sealed (AES-GCM) in ``sealed`` until the message is sent or dead, then blanked.
    """

    __tablename__ = "outbox_entries"
    __table_args__ = (
        Index("ix_outbox_entries_due", "status", "next_attempt_at"),
        Index("ix_outbox_entries_endpoint", "endpoint_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    kind: Mapped[OutboxKind] = mapped_column(EnumString(OutboxKind, 16))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The server secret ``sealed`` is sealed under (kit/keyring.py); None when blank.
    secret_key_id: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[OutboxStatus] = mapped_column(
        EnumString(OutboxStatus, 16), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status_code: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None]
