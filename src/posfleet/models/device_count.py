from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base


class DeviceCount(Base):
    """How many devices a tenant has per store (0: none), status and app code.

    Kept by database triggers (migration 0002), never written by the application, so that an
    exact ``totalCount`` of a list is a sum over a handful of rows instead of a count over every
    device of the tenant.
    """

    __tablename__ = "device_counts"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    app_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
