"""The webhook event catalogue: every type a tenant can subscribe to, and the payload shape.

Every request body is ``{"type": …, "timestamp": …, "data": {…}}`` (the Standard Webhooks
shape).  ``data`` of a device event is :func:`device_data`; fields are only ever added, never
renamed or removed, so a receiver may ignore what it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from posfleet.models import Device

EVENT_TYPES: dict[str, str] = {
    "device.created": "A device was registered (it waits to be linked).",
    "device.updated": "A device's name, app, placement, printers or settings changed.",
    "device.linked": "A physical device proved it holds the link code and is now active.",
    "device.authorized": "A device of the device authorization flow was approved and is now "
    "active.",
    "device.blocked": "An active device was blocked; its tokens are refused.",
    "device.unblocked": "A blocked device is active again.",
    "device.link_code_reset": "A device was set back to waiting, with a new link code.",
    "device.deleted": "A device was deleted.",
    "device.claimed": "A POS user claimed a device.",
    "device.released": "A POS user released a device they had claimed.",
    "pairing_code.sent": "A pairing code reached its transport (mail server or SMS gateway).",
    "pairing_code.used": "A pairing code was redeemed and its device activated.",
    "pos_session.started": "A POS user signed in at a location.",
    "pos_session.ended": "A POS session ended (sign-out).",
    "endpoint.disabled": "A webhook endpoint of the tenant was disabled after failing for days.",
    "webhook.test": "A test event sent on request to one endpoint.",
}

# How each device audit action (devices/service.py) is published.
DEVICE_ACTIONS: dict[str, str] = {
    "created": "device.created",
    "updated": "device.updated",
    "blocked": "device.blocked",
    "unblocked": "device.unblocked",
    "reset": "device.link_code_reset",
    "deleted": "device.deleted",
    "activated by link code": "device.linked",
    "activated by pairing code": "device.linked",
    "activated by device authorization": "device.authorized",
}


def envelope(event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}


def device_data(device: Device, actor: str) -> dict[str, Any]:
    return {
        "deviceUid": device.uid,
        "name": device.name,
        "status": device.status.value,
        "actor": actor,
    }
