"""Admin operations for Commerce Engine pairing codes, beside the Flow admin device paths.

``POST /v2/tenants/{tenantUid}/devices/{deviceUid}/pairing-codes`` issues a code for a device
waiting to link and queues its delivery by email, SMS or WhatsApp: the answer comes at once
(QUEUED, destination masked) and the outbox worker sends the message after commit, retrying
with backoff.  A delivery that still fails is FAILED under the device's ``deliveries`` and can
be retried with a fresh code.  Same authentication as the other admin operations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from posfleet.delivery.service import DeliveryService
from posfleet.devices.service import DeviceService
from posfleet.flow.auth import AdminPrincipal
from posfleet.flow.schemas import UID_REGEX
from posfleet.http import DbSession, RuntimeDep
from posfleet.kit.input import InputModel
from posfleet.models import Delivery
from posfleet.models.enums import DeliveryChannel
from posfleet.pairing.service import PairingService

router = APIRouter(prefix="/v2", tags=["Pairing codes"])

DeviceUid = Annotated[str, Path(alias="deviceUid", pattern=UID_REGEX, max_length=64)]
DeliveryUid = Annotated[str, Path(alias="deliveryUid", pattern=UID_REGEX, max_length=64)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid destination, or the device is not READY_TO_LINK in a store"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN or DEVICE, or belongs to another tenant"},
    404: {"description": "No such device or delivery in this tenant"},
    429: {"description": "A code was sent for this device moments ago (see Retry-After)"},
}


class PairingCodeRequest(InputModel):
    channel: Literal["EMAIL", "SMS", "WHATSAPP"]
    destination: str = Field(
        min_length=3,
        max_length=320,
        description="An email address, or a phone number in international form (+4791234567)",
    )


class DeliveryInfo(BaseModel):
    deliveryUid: str
    deviceUid: str
    purpose: str
    channel: str
    destination: str = Field(description="Masked")
    transport: str = Field(description="smtp, gateway or outbox")
    status: Literal["QUEUED", "SENT", "FAILED"]
    error: str = Field(description="Why the last attempt failed; empty once SENT")
    attempts: int
    createdAt: datetime
    sentAt: datetime | None
    codeExpiresAt: datetime | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryInfo]


def _info(delivery: Delivery, device_uid: str, expires: datetime | None = None) -> DeliveryInfo:
    return DeliveryInfo(
        deliveryUid=delivery.uid,
        deviceUid=device_uid,
        purpose=delivery.purpose.value,
        channel=delivery.channel.value,
        destination=delivery.destination_masked,
        transport=delivery.transport,
        status=delivery.status.value,
        error=delivery.error,
        attempts=delivery.attempts,
        createdAt=delivery.created_at,
        sentAt=delivery.sent_at,
        codeExpiresAt=expires,
    )


@router.post(
    "/tenants/{tenantUid}/devices/{deviceUid}/pairing-codes",
    operation_id="post-tenants-devices-pairing-codes",
    summary="Send a pairing code for a device by email, SMS or WhatsApp",
    status_code=201,
    responses=_ERRORS,
)
async def send_pairing_code(
    device_uid: DeviceUid,
    body: PairingCodeRequest,
    principal: AdminPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
) -> DeliveryInfo:
    """201 with the delivery QUEUED: it is sent after commit; ``…/deliveries`` shows how it
    went, and ``…/deliveries/{deliveryUid}/retry`` sends a FAILED one again."""
    sent = await PairingService(session, runtime).send(
        principal.tenant,
        device_uid,
        DeliveryChannel(body.channel),
        body.destination,
        principal.actor,
    )
    return _info(sent.delivery, sent.device.uid, sent.code.expires_at)


@router.get(
    "/tenants/{tenantUid}/devices/{deviceUid}/deliveries",
    operation_id="get-tenants-devices-deliveries",
    summary="Recent deliveries of codes for a device",
    responses=_ERRORS,
)
async def list_deliveries(
    device_uid: DeviceUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> DeliveryList:
    device = await DeviceService(session, runtime).get(principal.tenant.id, device_uid)
    rows = await DeliveryService(session, runtime).of_device(principal.tenant.id, device.id)
    return DeliveryList(items=[_info(row, device.uid) for row in rows])


@router.post(
    "/tenants/{tenantUid}/deliveries/{deliveryUid}/retry",
    operation_id="post-tenants-deliveries-retry",
    summary="Retry a failed pairing-code delivery (with a fresh code)",
    responses=_ERRORS,
)
async def retry_delivery(
    delivery_uid: DeliveryUid, principal: AdminPrincipal, session: DbSession, runtime: RuntimeDep
) -> DeliveryInfo:
    sent = await PairingService(session, runtime).retry(
        delivery_uid, principal.actor, principal.tenant
    )
    return _info(sent.delivery, sent.device.uid, sent.code.expires_at)
