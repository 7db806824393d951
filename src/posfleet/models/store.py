from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column, modified_at_column, uid_column


class Store(Base):
    """A shop of a tenant (a Commerce Engine *location*)."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("tenant_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str] = uid_column()
    name: Mapped[str] = mapped_column(String(200))
    organization_uid: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country_code: Mapped[str] = mapped_column(String(2), default="NO")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    website_url: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float] = mapped_column(default=0.0)
    longitude: Mapped[float] = mapped_column(default=0.0)
    vat_number: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    has_workshop: Mapped[bool] = mapped_column(default=False)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bank_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    available_extensions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    default_warehouse_uid: Mapped[str] = mapped_column(String(64), default="")
    default_return_warehouse_uid: Mapped[str] = mapped_column(String(64), default="")
    default_delivery_warehouse_uid: Mapped[str] = mapped_column(String(64), default="")
    purchase_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    internal_purchase_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    rma_order_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    customer_ledger_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    voucher_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    service_number_series_uid: Mapped[str] = mapped_column(String(64), default="")
    quicksale_category_uid: Mapped[str] = mapped_column(String(64), default="")
    sales_price_uid: Mapped[str] = mapped_column(String(64), default="")
    receipt_message: Mapped[str] = mapped_column(Text, default="")
    email_receipt_message: Mapped[str] = mapped_column(Text, default="")
    exchangenote_message: Mapped[str] = mapped_column(Text, default="")
    exchangenote_valid_days: Mapped[int] = mapped_column(default=30)
    created_at: Mapped[datetime] = created_at_column()
    last_modified_at: Mapped[datetime] = modified_at_column()
