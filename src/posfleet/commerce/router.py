"""Commerce Engine storefront POS operations under ``/api/v1/{store_id}/storefront``.

Nothing but translation: authenticate, call one service, wrap the result in the envelope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from posfleet.commerce.auth import (
    ApiKeyOrUserTenant,
    ApiKeyTenant,
    DebugMode,
    Principal,
    StoreTenant,
)
from posfleet.commerce.schemas import (
    DeviceContent,
    DevicesContent,
    Done,
    Envelope,
    LocationsContent,
    LoginEmailRequest,
    LoginPhoneRequest,
    OtpContent,
    PairDeviceRequest,
    RefreshTokenRequest,
    SignedInContent,
    TokensContent,
    UserContent,
    VerifyOtpRequest,
)
from posfleet.commerce.translate import pos_device, pos_location, pos_user
from posfleet.http import ClientAddress, DbSession, RuntimeDep
from posfleet.models import Tenant
from posfleet.models.enums import DeliveryChannel
from posfleet.pairing.service import PairingService
from posfleet.pos.claims import ClaimService
from posfleet.pos.otp import OtpSent, OtpService
from posfleet.pos.service import PosService
from posfleet.pos.sessions import PosSessionService
from posfleet.runtime import Runtime

router = APIRouter(prefix="/api/v1/{store_id}/storefront", tags=["Commerce Engine POS"])
DeviceId = Annotated[str, Path(max_length=64, description="The device id")]
UserId = Annotated[str, Path(max_length=64, description="The user id")]


@router.post("/pos/auth/pair-device", summary="Pair POS device")
async def pair_device(
    body: PairDeviceRequest,
    tenant: ApiKeyTenant,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
) -> Envelope[DeviceContent]:
    device = await PairingService(session, runtime).redeem(tenant, body.pairing_code, address)
    view = await PosService(session, runtime).device_view(tenant, device)
    return Envelope(message="Device paired", content=DeviceContent(device=pos_device(view)))


def _otp_content(sent: OtpSent) -> OtpContent:
    return OtpContent(otp_token=sent.otp_token, otp=sent.otp)


@router.post("/pos/auth/login/email", summary="Login with email", response_model_exclude_none=True)
async def login_email(
    body: LoginEmailRequest,
    tenant: ApiKeyTenant,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    debug: DebugMode,
) -> Envelope[OtpContent]:
    sent = await OtpService(session, runtime).start_login(
        tenant,
        body.location_id,
        DeliveryChannel.EMAIL,
        address,
        email=body.email,
        reveal_otp=debug,
    )
    return Envelope(message="OTP sent", content=_otp_content(sent))


async def _login_phone(
    channel: DeliveryChannel,
    body: LoginPhoneRequest,
    tenant: Tenant,
    session: DbSession,
    runtime: Runtime,
    address: str,
    debug: bool,
) -> Envelope[OtpContent]:
    sent = await OtpService(session, runtime).start_login(
        tenant,
        body.location_id,
        channel,
        address,
        phone=body.phone,
        country_code=body.country_code,
        reveal_otp=debug,
    )
    return Envelope(message="OTP sent", content=_otp_content(sent))


@router.post(
    "/pos/auth/login/phone", summary="Login with phone (SMS)", response_model_exclude_none=True
)
async def login_phone(
    body: LoginPhoneRequest,
    tenant: ApiKeyTenant,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    debug: DebugMode,
) -> Envelope[OtpContent]:
    return await _login_phone(DeliveryChannel.SMS, body, tenant, session, runtime, address, debug)


@router.post(
    "/pos/auth/login/whatsapp", summary="Login with WhatsApp", response_model_exclude_none=True
)
async def login_whatsapp(
    body: LoginPhoneRequest,
    tenant: ApiKeyTenant,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
    debug: DebugMode,
) -> Envelope[OtpContent]:
    return await _login_phone(
        DeliveryChannel.WHATSAPP, body, tenant, session, runtime, address, debug
    )


@router.post("/pos/auth/verify-otp", summary="Verify OTP")
async def verify_otp(
    body: VerifyOtpRequest,
    tenant: ApiKeyTenant,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
) -> Envelope[SignedInContent]:
    user, store = await OtpService(session, runtime).verify(
        tenant, body.otp_token, body.otp, body.otp_action, address
    )
    pair = await PosSessionService(session, runtime).start(tenant, user, store)
    view = await PosService(session, runtime).user_view(user, store)
    return Envelope(
        message="Signed in",
        content=SignedInContent(
            user=pos_user(view), access_token=pair.access_token, refresh_token=pair.refresh_token
        ),
    )


@router.post("/pos/auth/refresh-token", summary="Refresh POS access token")
async def refresh_token(
    body: RefreshTokenRequest, tenant: StoreTenant, session: DbSession, runtime: RuntimeDep
) -> Envelope[TokensContent]:
    # Any bearer sent along (the SDK sends the expired access token) is deliberately ignored.
    pair = await PosSessionService(session, runtime).refresh(tenant, body.refresh_token)
    return Envelope(
        message="Tokens refreshed",
        content=TokensContent(access_token=pair.access_token, refresh_token=pair.refresh_token),
    )


@router.post("/pos/auth/logout", summary="Logout")
async def logout(principal: Principal, session: DbSession, runtime: RuntimeDep) -> Done:
    await PosSessionService(session, runtime).logout(principal)
    return Done(message="Logged out")


@router.get("/pos/devices", summary="List devices at the user's location")
async def list_pos_devices(
    principal: Principal, session: DbSession, runtime: RuntimeDep
) -> Envelope[DevicesContent]:
    views = await PosService(session, runtime).devices_at_location(principal)
    return Envelope(message="OK", content=DevicesContent(devices=[pos_device(v) for v in views]))


@router.post("/pos/devices/{device_id}/claim", summary="Claim POS device")
async def claim_device(
    device_id: DeviceId, principal: Principal, session: DbSession, runtime: RuntimeDep
) -> Envelope[UserContent]:
    view = await ClaimService(session, runtime).claim(principal, device_id)
    return Envelope(message="Device claimed", content=UserContent(user=pos_user(view)))


@router.post("/pos/devices/{device_id}/unclaim", summary="Unclaim POS device")
async def unclaim_device(
    device_id: DeviceId, principal: Principal, session: DbSession, runtime: RuntimeDep
) -> Envelope[UserContent]:
    view = await ClaimService(session, runtime).unclaim(principal, device_id)
    return Envelope(message="Device unclaimed", content=UserContent(user=pos_user(view)))


@router.get("/pos/locations", summary="List store locations")
async def list_locations(
    tenant: ApiKeyOrUserTenant, session: DbSession, runtime: RuntimeDep
) -> Envelope[LocationsContent]:
    stores = await PosService(session, runtime).locations(tenant)
    return Envelope(
        message="OK",
        content=LocationsContent(
            locations=[pos_location(s, is_default=i == 0) for i, s in enumerate(stores)]
        ),
    )


@router.get("/pos/users/{user_id}", summary="Get POS user")
async def get_pos_user(
    user_id: UserId, principal: Principal, session: DbSession, runtime: RuntimeDep
) -> Envelope[UserContent]:
    view = await PosService(session, runtime).user_for(principal, user_id)
    return Envelope(message="OK", content=UserContent(user=pos_user(view)))
