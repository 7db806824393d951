from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, uid_column
from posfleet.models.enums import PaymentCode, PaymentVisibility


class StorePaymentMethod(Base):
    """A payment method offered in one store; at most one per store is the zero-amount method."""

    __tablename__ = "store_payment_methods"
    __table_args__ = (
        UniqueConstraint("tenant_id", "uid"),
        Index(
            "uq_store_payment_methods_zero_amount",
            "store_id",
            unique=True,
            sqlite_where=text("is_zero_amount"),
            postgresql_where=text("is_zero_amount"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = uid_column()
    code: Mapped[PaymentCode] = mapped_column(EnumString(PaymentCode, 32))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    settlement_code: Mapped[str] = mapped_column(String(64), default="")
    visibility: Mapped[PaymentVisibility] = mapped_column(
        EnumString(PaymentVisibility, 16), default=PaymentVisibility.LISTED
    )
    position: Mapped[int] = mapped_column(default=0)
    allow_refund: Mapped[bool] = mapped_column(default=True)
    allow_sale: Mapped[bool] = mapped_column(default=True)
    allow_cashback: Mapped[bool] = mapped_column(default=False)
    allow_amount: Mapped[bool] = mapped_column(default=True)
    is_zero_amount: Mapped[bool] = mapped_column(default=False)
    requirements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_at: Mapped[datetime] = created_at_column()
