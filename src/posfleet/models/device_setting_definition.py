from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString
from posfleet.models.enums import SettingType


class DeviceSettingDefinition(Base):
    """A setting every device of the tenant has, with the rules its value must satisfy."""

    __tablename__ = "device_setting_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[SettingType] = mapped_column(EnumString(SettingType, 16))
    allowed_values: Mapped[list[str]] = mapped_column(default=list)
    validation_regex: Mapped[str] = mapped_column(String(500), default="")
    required: Mapped[bool] = mapped_column(default=False)
    default_value: Mapped[str] = mapped_column(String(1000), default="")
