from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, uid_column
from posfleet.models.enums import PrinterType


class Printer(Base):
    __tablename__ = "printers"
    __table_args__ = (UniqueConstraint("tenant_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    uid: Mapped[str] = uid_column()
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[PrinterType] = mapped_column(EnumString(PrinterType, 16))
    created_at: Mapped[datetime] = created_at_column()
