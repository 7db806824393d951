from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import AppCode


class DeviceFlowClient(Base):
    """A client allowed to use the (deprecated) device authorization flow (Flow's ``clientId``)."""

    __tablename__ = "device_flow_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    app_code: Mapped[AppCode] = mapped_column(EnumString(AppCode, 16), default=AppCode.CLIENT)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = created_at_column()
