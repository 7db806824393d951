from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column, uid_column


class ApiKey(Base):
    """A Commerce Engine ``X-Api-Key``: bound to a tenant, a scope and a channel (hash only)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = uid_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(32), default="storefront")
    channel: Mapped[str] = mapped_column(String(32), default="pos")
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
