from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, uid_column
from posfleet.models.enums import SessionState


class PosSession(Base):
    """A Commerce Engine POS login session: the family its rotating refresh tokens belong to."""

    __tablename__ = "pos_sessions"
    __table_args__ = (Index("ix_pos_sessions_user_state", "user_id", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = uid_column(unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("tenant_users.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    state: Mapped[SessionState] = mapped_column(
        EnumString(SessionState, 16), default=SessionState.LIVE
    )
    ended_reason: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = created_at_column()
    last_refreshed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
