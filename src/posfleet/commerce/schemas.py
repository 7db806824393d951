"""Commerce Engine POS wire shapes (snake_case), as the published SDK reads and writes them."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from posfleet.kit.input import InputModel

T = TypeVar("T")

_ID = Field(min_length=1, max_length=200)


class Envelope(BaseModel, Generic[T]):
    message: str
    success: bool = True
    content: T


class Done(BaseModel):
    message: str
    success: bool = True


# Requests ----------------------------------------------------------------------------------


class PairDeviceRequest(InputModel):
    pairing_code: str = Field(min_length=1, max_length=64)


class LoginEmailRequest(InputModel):
    location_id: str = _ID
    email: str = Field(min_length=3, max_length=320)


class LoginPhoneRequest(InputModel):
    location_id: str = _ID
    phone: str = Field(min_length=4, max_length=32, description="National number")
    country_code: str | None = Field(default=None, max_length=6, examples=["+47"])


class VerifyOtpRequest(InputModel):
    otp: str = Field(min_length=1, max_length=16)
    otp_token: str = Field(min_length=1, max_length=200)
    otp_action: Literal["login"] = "login"


class RefreshTokenRequest(InputModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


# Responses ---------------------------------------------------------------------------------


class IdName(BaseModel):
    id: str
    name: str


class ClaimedBy(BaseModel):
    id: str
    first_name: str
    last_name: str | None
    phone: str
    email: str


class PosDevice(BaseModel):
    id: str
    name: str
    device_type: Literal["pos-terminal"] = "pos-terminal"
    external_device_id: str
    vendor: str
    model_number: str
    mac_address: str | None
    location_id: str
    location_name: str
    claimed_by: ClaimedBy | None
    status: Literal["available", "claimed", "offline"]
    is_busy: bool


class PosRole(BaseModel):
    location_id: str
    location_name: str
    role_id: str
    role_name: str


class PosUser(BaseModel):
    id: str
    first_name: str
    last_name: str | None
    phone: str
    email: str
    channel: IdName
    device: IdName | None
    location: IdName
    roles: list[PosRole]


class PosLocation(BaseModel):
    id: str
    name: str
    warehouse_type: Literal["retail-store", "distribution-center"] = "retail-store"
    active: bool
    gstin: str | None
    city: str
    address_line1: str
    address_line2: str | None
    landmark: str | None
    pincode: str
    state: str
    country: str
    country_code: str
    contact_phone: int
    contact_email: str
    is_default: bool
    image_url: str | None
    seller_warehouse_id: str | None
    can_receive_stock: bool
    can_ship_parcel: bool
    can_collect: bool
    is_checkout_point: bool
    accepts_returns: bool
    opening_hours: str | None


class DeviceContent(BaseModel):
    device: PosDevice


class DevicesContent(BaseModel):
    devices: list[PosDevice]


class UserContent(BaseModel):
    user: PosUser


class LocationsContent(BaseModel):
    locations: list[PosLocation]


class OtpContent(BaseModel):
    otp_token: str
    otp_action: Literal["login"] = "login"
    otp: str | None = Field(
        default=None, description="Only with `x-debug-mode: true` on a development server"
    )


class SignedInContent(BaseModel):
    user: PosUser
    access_token: str
    refresh_token: str


class TokensContent(BaseModel):
    access_token: str
    refresh_token: str
