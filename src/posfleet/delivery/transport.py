"""What every transport is given and how it says that it failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from posfleet.models.enums import DeliveryChannel


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    delivery_id: int
    reference: str  # the delivery's uid, for the receiving side's logs
    channel: DeliveryChannel
    recipient: str
    subject: str
    body: str


class DeliveryFailed(Exception):
    """The transport could not hand the message on; ``reason`` is safe to show an admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:500]


class Transport(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> None: ...
