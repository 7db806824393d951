"""Pairing codes as other domains see them.

A device that is blocked, reset or deleted takes its live pairing codes with it.  The device
lifecycle asks for that here, so that pairing codes are written by this package alone, without
this module needing the device service (which the pairing service itself uses).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.pairing.repository import PairingRepository


class PairingCodes:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = PairingRepository(session)

    async def revoke_of_device(self, device_id: int, now: datetime) -> None:
        """Every live pairing code of the device stops working."""
        await self.repository.revoke_live_of_device(device_id, now)
