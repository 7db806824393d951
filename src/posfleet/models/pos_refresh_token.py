from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import CodeState


class PosRefreshToken(Base):
    """One refresh token of a POS session; rotation spends it and issues the next (hash only)."""

    __tablename__ = "pos_refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("pos_sessions.id", ondelete="CASCADE"), index=True
    )
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[CodeState] = mapped_column(EnumString(CodeState, 16), default=CodeState.LIVE)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
