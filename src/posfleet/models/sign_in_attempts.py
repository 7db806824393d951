from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from posfleet.models.base import Base


class SignInAttempts(Base):
    """Sign-in attempts on one account since its last success, shared by every replica.

    ``key`` names the account (``kit.ratelimit.ACCOUNT``), not an address: guesses spread
    over many addresses still meet one budget.
    """

    __tablename__ = "sign_in_attempts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime]
