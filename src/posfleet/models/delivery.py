from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, uid_column
from posfleet.models.enums import DeliveryChannel, DeliveryPurpose, DeliveryStatus


class Delivery(Base):
    """One attempt to deliver a code to a person, and how it went."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_device", "tenant_id", "device_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = uid_column(unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("tenant_users.id", ondelete="CASCADE"))
    purpose: Mapped[DeliveryPurpose] = mapped_column(EnumString(DeliveryPurpose, 16))
    channel: Mapped[DeliveryChannel] = mapped_column(EnumString(DeliveryChannel, 16))
    transport: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(320))
    destination_masked: Mapped[str] = mapped_column(String(320))
    status: Mapped[DeliveryStatus] = mapped_column(
        EnumString(DeliveryStatus, 16), default=DeliveryStatus.QUEUED
    )
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
