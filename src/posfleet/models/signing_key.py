from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base, created_at_column


class SigningKey(Base):
    """An asymmetric JWT signing key; the private half is encrypted with the server secret."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # The server secret the hash or ciphertext above was made with (kit/keyring.py).
    secret_key_id: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_at_column()
    retired_at: Mapped[datetime | None]
