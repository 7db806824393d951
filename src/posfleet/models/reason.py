from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString
from posfleet.models.enums import ReasonKind


class Reason(Base):
    """A discount or return reason a cashier picks on the till."""

    __tablename__ = "reasons"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReasonKind] = mapped_column(EnumString(ReasonKind, 16))
    code: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    position: Mapped[int] = mapped_column(default=0)
