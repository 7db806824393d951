from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import (
    Base,
    EnumString,
    created_at_column,
    modified_at_column,
    new_uid,
    uid_column,
)
from posfleet.models.enums import AppCode, DeviceStatus


class Device(Base):
    """A physical POS device registered in a tenant, in both dialects' terms.

    ``credential_generation`` is the device's credential epoch: every token of the device carries
    it, and block, reset and delete move it on, so that every old token fails on its next request.
    ``credential_nonce`` is drawn when the row is created and never changes: tokens name it too,
    so a device created later under the same uid (whose epoch starts again) accepts no token of
    a deleted one.  Rows from before it existed hold ``""``, which no new row ever draws.
    """

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "uid"),
        UniqueConstraint("till_id"),
        UniqueConstraint("identifier"),
        Index("ix_devices_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_devices_tenant_name", "tenant_id", "name", "id"),
        Index("ix_devices_tenant_status", "tenant_id", "status", "id"),
        Index("ix_devices_tenant_store", "tenant_id", "store_id", "id"),
        Index("ix_devices_tenant_modified", "tenant_id", "last_modified_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    uid: Mapped[str] = uid_column()
    name: Mapped[str] = mapped_column(String(200))
    app_code: Mapped[AppCode] = mapped_column(EnumString(AppCode, 16), default=AppCode.UNKNOWN)
    status: Mapped[DeviceStatus] = mapped_column(
        EnumString(DeviceStatus, 16), default=DeviceStatus.READY_TO_LINK
    )
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    till_id: Mapped[int | None] = mapped_column(ForeignKey("tills.id", ondelete="SET NULL"))
    identifier: Mapped[str | None] = mapped_column(String(64))
    system_information: Mapped[str] = mapped_column(Text, default="")
    credential_generation: Mapped[int] = mapped_column(default=1)
    credential_nonce: Mapped[str] = mapped_column(String(32), default=new_uid, server_default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    last_modified_by: Mapped[str] = mapped_column(String(100), default="")
    last_activity_at: Mapped[datetime | None]
    last_tenant_user_uid: Mapped[str] = mapped_column(String(64), default="")
    last_order_uid: Mapped[str] = mapped_column(String(64), default="")
    vendor: Mapped[str] = mapped_column(String(100), default="")
    model_number: Mapped[str] = mapped_column(String(100), default="")
    mac_address: Mapped[str | None] = mapped_column(String(17))
    external_device_id: Mapped[str] = mapped_column(String(100), default="")
    claimed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant_users.id", ondelete="SET NULL"), index=True
    )
    claimed_at: Mapped[datetime | None]
    is_busy: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()
    last_modified_at: Mapped[datetime] = modified_at_column()
