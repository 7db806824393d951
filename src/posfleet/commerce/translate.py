"""Domain views → Commerce Engine wire shapes."""

from __future__ import annotations

import re

from posfleet.commerce.schemas import (
    ClaimedBy,
    IdName,
    PosDevice,
    PosLocation,
    PosRole,
    PosUser,
)
from posfleet.models import Store, TenantUser
from posfleet.pos.service import PosDeviceView, PosUserView
from posfleet.pos.sessions import CHANNEL


def _phone(user: TenantUser) -> str:
    return f"{user.mobile_country_code}{user.mobile}" if user.mobile else ""


def pos_device(view: PosDeviceView) -> PosDevice:
    device, claimer = view.device, view.claimed_by
    return PosDevice(
        id=device.uid,
        name=device.name,
        external_device_id=device.external_device_id,
        vendor=device.vendor,
        model_number=device.model_number,
        mac_address=device.mac_address,
        location_id=view.store.uid if view.store else "",
        location_name=view.store.name if view.store else "",
        claimed_by=ClaimedBy(
            id=claimer.uid,
            first_name=claimer.first_name,
            last_name=claimer.last_name or None,
            phone=_phone(claimer),
            email=claimer.email,
        )
        if claimer
        else None,
        status=view.status.value,
        is_busy=device.is_busy,
    )


def pos_user(view: PosUserView) -> PosUser:
    user = view.user
    return PosUser(
        id=user.uid,
        first_name=user.first_name,
        last_name=user.last_name or None,
        phone=_phone(user),
        email=user.email,
        channel=IdName(id=CHANNEL["id"], name=CHANNEL["name"]),
        device=IdName(id=view.device.uid, name=view.device.name) if view.device else None,
        location=IdName(id=view.location.uid, name=view.location.name),
        roles=[
            PosRole(
                location_id=role.store.uid,
                location_name=role.store.name,
                role_id=role.role_uid,
                role_name=role.role_name,
            )
            for role in view.roles
        ],
    )


def pos_location(store: Store, *, is_default: bool) -> PosLocation:
    digits = re.sub(r"\D", "", store.phone)
    return PosLocation(
        id=store.uid,
        name=store.name,
        active=store.is_active,
        gstin=store.vat_number or None,
        city=store.city,
        address_line1=store.address,
        address_line2=None,
        landmark=None,
        pincode=store.postal_code,
        state="",
        country=store.country_code,
        country_code="",
        contact_phone=int(digits[-15:]) if digits else 0,
        contact_email=store.email,
        is_default=is_default,
        image_url=None,
        seller_warehouse_id=store.external_id or None,
        can_receive_stock=True,
        can_ship_parcel=False,
        can_collect=True,
        is_checkout_point=True,
        accepts_returns=True,
        opening_hours=None,
    )
