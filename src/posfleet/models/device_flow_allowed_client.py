from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base


class DeviceFlowAllowedClient(Base):
    """A device-flow client a tenant allows when it allows only the clients it lists."""

    __tablename__ = "device_flow_allowed_clients"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(
        ForeignKey("device_flow_clients.id", ondelete="CASCADE"), primary_key=True
    )
