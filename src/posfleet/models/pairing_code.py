from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import CodeState

_LIVE = text("state = 'LIVE'")


class PairingCode(Base):
    """A short-lived single-use code delivered to a person to pair a device (hash only)."""

    __tablename__ = "pairing_codes"
    __table_args__ = (
        Index(
            "uq_pairing_codes_live_hash",
            "tenant_id",
            "code_hash",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    state: Mapped[CodeState] = mapped_column(EnumString(CodeState, 16), default=CodeState.LIVE)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
