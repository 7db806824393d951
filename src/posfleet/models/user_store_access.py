from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base


class UserStoreAccess(Base):
    """A user's access to a store, with the role the user has there."""

    __tablename__ = "user_store_access"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("tenant_users.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role_uid: Mapped[str] = mapped_column(String(64), default="cashier")
    role_name: Mapped[str] = mapped_column(String(100), default="Cashier")
