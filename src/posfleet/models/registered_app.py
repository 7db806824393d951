from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import AppCode


class RegisteredApp(Base):
    """A POS app build allowed to link devices (Flow's ``appId``), and which app code it is."""

    __tablename__ = "registered_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    app_code: Mapped[AppCode] = mapped_column(EnumString(AppCode, 16))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
