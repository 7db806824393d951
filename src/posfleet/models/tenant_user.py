from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column, modified_at_column, uid_column
from posfleet.models.enums import AccountType, UserStatus


class TenantUser(Base):
    """A person (or integration) of a tenant.  Only an argon2id hash of the password is kept."""

    __tablename__ = "tenant_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "uid"),
        UniqueConstraint("tenant_id", "user_code"),
        Index("ix_tenant_users_email", "tenant_id", "email"),
        Index("ix_tenant_users_mobile", "tenant_id", "mobile"),
        Index("ix_tenant_users_user_code", "user_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    uid: Mapped[str] = uid_column()
    user_code: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    mobile: Mapped[str] = mapped_column(String(32), default="")
    mobile_country_code: Mapped[str] = mapped_column(String(8), default="")
    account_type: Mapped[AccountType] = mapped_column(EnumString(AccountType, 16))
    status: Mapped[UserStatus] = mapped_column(
        EnumString(UserStatus, 16), default=UserStatus.ACTIVE
    )
    language_code: Mapped[str] = mapped_column(String(2), default="nb")
    permissions: Mapped[list[str]] = mapped_column(default=list)
    all_stores: Mapped[bool] = mapped_column(default=False)
    token_version: Mapped[int] = mapped_column(default=1)
    last_accessed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    last_modified_at: Mapped[datetime] = modified_at_column()

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.user_code
