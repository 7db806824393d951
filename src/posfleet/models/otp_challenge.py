from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import CodeState, DeliveryChannel


class OtpChallenge(Base):
    """A one-time password sent to a user; ``otp_token`` names the challenge (hashes only)."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("tenant_users.id", ondelete="CASCADE"), index=True
    )
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    otp_hash: Mapped[str] = mapped_column(String(64))
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), default="login")
    channel: Mapped[DeliveryChannel] = mapped_column(EnumString(DeliveryChannel, 16))
    state: Mapped[CodeState] = mapped_column(EnumString(CodeState, 16), default=CodeState.LIVE)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
