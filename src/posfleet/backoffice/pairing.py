"""Pairing codes from the device page: send one by email, SMS or WhatsApp (or resend), hand
one over in person, and retry a failed delivery.  The rules are :mod:`posfleet.pairing`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Request
from starlette.responses import Response

from posfleet.backoffice.devices import DEVICES, DeviceUid, detail_page, link_card
from posfleet.backoffice.web import CsrfChecked, SignedIn, page_router, redirect, render
from posfleet.errors import AppError
from posfleet.http import DbSession, RuntimeDep
from posfleet.kit.codes import format_code
from posfleet.models import Delivery
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import DeliveryChannel, DeliveryStatus
from posfleet.pairing.service import PairingService

router = page_router()

DeliveryUid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]
CHANNEL_WORDS = {
    DeliveryChannel.EMAIL: "by email",
    DeliveryChannel.SMS: "by SMS",
    DeliveryChannel.WHATSAPP: "by WhatsApp",
}


def _outcome(delivery: Delivery) -> str:
    how = CHANNEL_WORDS[delivery.channel]
    if delivery.status is DeliveryStatus.FAILED:
        return (
            f"A pairing code was made but could not be delivered {how} to "
            f"{delivery.destination_masked}: {delivery.error}. Retry it below."
        )
    if delivery.status is DeliveryStatus.SENT:
        return f"A pairing code was sent {how} to {delivery.destination_masked}."
    return (
        f"A pairing code is on its way {how} to {delivery.destination_masked}; "
        "reload this page to see whether it arrived."
    )


@router.post("/devices/{device_uid}/pairing-codes")
async def send_pairing_code(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
    channel: Annotated[str, Form(max_length=20)] = "",
    destination: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    staff.require_device_management()
    values = {"channel": channel, "destination": destination}
    errors: dict[str, str] = {}
    if channel not in DeliveryChannel.__members__:
        errors["channel"] = "Choose how to send the code."
    if not destination.strip():
        errors["destination"] = "Enter the email address or mobile number to send the code to."
    if not errors:
        try:
            # A refused send leaves nothing behind (savepoint); the page then says why.
            async with db.begin_nested():
                sent = await PairingService(db, runtime).send(
                    staff.tenant,
                    device_uid,
                    DeliveryChannel(channel),
                    destination.strip(),
                    staff.actor,
                )
        except AppError as exc:
            if exc.status_code == 404:
                raise
            field = "destination" if "destination" in getattr(exc, "errors", {}) else "form"
            errors[field] = exc.message
        else:
            return redirect(request, f"{DEVICES}/{device_uid}", flash=_outcome(sent.delivery))
    return await detail_page(
        request,
        staff,
        db,
        runtime,
        device_uid,
        pairing={"given": values, "errors": errors},
        status_code=400,
    )


@router.post("/devices/{device_uid}/pairing-codes/in-person")
async def issue_pairing_code(
    request: Request,
    device_uid: DeviceUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    code = await PairingService(db, runtime).issue(staff.tenant, device_uid, staff.actor)
    return render(
        request,
        "devices/pairing_code.html",
        {
            "device_uid": device_uid,
            "code": format_code(code),
            "qr": link_card(format_code(code), device_uid),
        },
        staff=staff,
    )


@router.post("/deliveries/{delivery_uid}/retry")
async def retry_delivery(
    request: Request,
    delivery_uid: DeliveryUid,
    _: CsrfChecked,
    staff: SignedIn,
    db: DbSession,
    runtime: RuntimeDep,
) -> Response:
    staff.require_device_management()
    sent = await PairingService(db, runtime).retry(delivery_uid, staff.actor, staff.tenant)
    return redirect(request, f"{DEVICES}/{sent.device.uid}", flash=_outcome(sent.delivery))
