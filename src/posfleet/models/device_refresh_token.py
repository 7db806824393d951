from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column


class DeviceRefreshToken(Base):
    """A Flow device refresh token (hash only); it belongs to one link of one device."""

    __tablename__ = "device_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    app_id: Mapped[str] = mapped_column(String(100))
    credential_generation: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None]
