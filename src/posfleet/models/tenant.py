from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column, modified_at_column, uid_column


class Tenant(Base):
    """A retailer.  Everything else belongs to exactly one tenant."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = uid_column(unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country_code: Mapped[str] = mapped_column(String(2), default="NO")
    vat_number: Mapped[str] = mapped_column(String(40), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Oslo")
    language_code: Mapped[str] = mapped_column(String(2), default="nb")
    currency_code: Mapped[str] = mapped_column(String(3), default="NOK")
    currency_name: Mapped[str] = mapped_column(String(64), default="Norwegian krone")
    currency_symbol: Mapped[str] = mapped_column(String(8), default="kr")
    currency_symbol_position: Mapped[str] = mapped_column(String(8), default="AFTER")
    decimal_separator: Mapped[str] = mapped_column(String(1), default=",")
    thousand_separator: Mapped[str] = mapped_column(String(1), default=" ")
    cash_rounding: Mapped[int] = mapped_column(default=100)
    pricelist_uid: Mapped[str] = mapped_column(String(64), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    app_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    extensions: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    logo_url: Mapped[str] = mapped_column(String(500), default="")
    logo_asset_uid: Mapped[str] = mapped_column(String(64), default="")
    splash_url: Mapped[str] = mapped_column(String(500), default="")
    splash_asset_uid: Mapped[str] = mapped_column(String(64), default="")
    # Moved by database triggers whenever anything a device's DeviceInfo shows may have changed
    # (migration 0003_device_info_version); never written by the application.
    config_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    last_modified_at: Mapped[datetime] = modified_at_column()
