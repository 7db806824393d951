from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, EnumString, created_at_column
from posfleet.models.enums import GrantState

_PENDING = text("state = 'PENDING'")


class DeviceGrant(Base):
    """A device authorization grant (RFC 8628, Flow names).

    ``device_code_hash`` is the short code a person types; ``identifier_hash`` the device's
    high-entropy polling secret, which stays its credential once the grant is approved.  Hashes
    only.  The grant outlives its device (``device_id`` becomes NULL) so that a deleted
    device's poll is told ``expired_token`` rather than taken for a stranger's.
    """

    __tablename__ = "device_grants"
    __table_args__ = (
        Index(
            "uq_device_grants_pending_code",
            "device_code_hash",
            unique=True,
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("device_flow_clients.id", ondelete="CASCADE"), index=True
    )
    device_code_hash: Mapped[str] = mapped_column(String(64))
    identifier_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    system_information: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[GrantState] = mapped_column(
        EnumString(GrantState, 16), default=GrantState.PENDING
    )
    # Kept here, not in a replica's memory: slow_down raises it for every replica.
    interval_seconds: Mapped[int]
    last_polled_at: Mapped[datetime | None]
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    # The device's credential generation at approval: a reset moves it on, ending the grant.
    device_generation: Mapped[int | None]
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
