from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, modified_at_column, uid_column
from posfleet.models.enums import PaymentTerminal


class Till(Base):
    """A checkout position in a store; at most one device is bound to it at a time."""

    __tablename__ = "tills"
    __table_args__ = (
        UniqueConstraint("tenant_id", "uid"),
        UniqueConstraint("store_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    uid: Mapped[str] = uid_column()
    number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    payment_terminal: Mapped[PaymentTerminal] = mapped_column(
        EnumString(PaymentTerminal, 16), default=PaymentTerminal.NONE
    )
    barcode_printer: Mapped[str] = mapped_column(String(200), default="")
    cash_drawer: Mapped[str] = mapped_column(String(200), default="")
    receipt_printer: Mapped[str] = mapped_column(String(200), default="")
    regular_printer: Mapped[str] = mapped_column(String(200), default="")
    settings: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    app_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_order_uid: Mapped[str] = mapped_column(String(64), default="")
    last_order_number: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = created_at_column()
    last_modified_at: Mapped[datetime] = modified_at_column()
