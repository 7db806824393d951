from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import CodeState

_LIVE = text("state = 'LIVE'")


class LinkCode(Base):
    """A one-time code that links a physical device to a READY_TO_LINK device (hash only)."""

    __tablename__ = "link_codes"
    __table_args__ = (
        Index(
            "uq_link_codes_live_hash",
            "code_hash",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index(
            "uq_link_codes_live_device",
            "device_id",
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
    created_at: Mapped[datetime] = created_at_column()
    spent_at: Mapped[datetime | None]
