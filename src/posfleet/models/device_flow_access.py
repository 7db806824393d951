from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base


class DeviceFlowAccess(Base):
    """A tenant's choice of which device-flow clients its users may approve.

    No row, or ``only_listed`` false: every active client (what every tenant had before it
    could choose).  ``only_listed`` true: only the clients in ``device_flow_allowed_clients``.
    """

    __tablename__ = "device_flow_access"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    only_listed: Mapped[bool] = mapped_column(default=False)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime]
