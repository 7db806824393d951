from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column, uid_column


class WebhookEndpoint(Base):
    """Where a tenant wants its events pushed; the signing secret is kept sealed (AES-GCM)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = uid_column(unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(default=list)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
