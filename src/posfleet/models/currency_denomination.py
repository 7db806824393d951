from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString
from posfleet.models.enums import DenominationMaterial


class CurrencyDenomination(Base):
    """A coin or note counted in the till, in the currency's minor units."""

    __tablename__ = "currency_denominations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "currency_code", "denomination", "material"),
        CheckConstraint("denomination > 0", name="denomination_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    currency_code: Mapped[str] = mapped_column(String(3))
    denomination: Mapped[int]
    material: Mapped[DenominationMaterial] = mapped_column(EnumString(DenominationMaterial, 8))
