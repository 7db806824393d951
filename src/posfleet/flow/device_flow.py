"""Flow v2 device authorization flow (deprecated in the spec, still used by POS clients).

``POST /device`` registers a device for authorization, ``POST /device/authorize`` lets a user
of a tenant approve it into a store; the device's poll with ``{clientId, deviceIdentifier}``
is answered by ``POST /device/token`` in :mod:`posfleet.flow.device`.  Translation only: the
rules live in :mod:`posfleet.deviceflow`.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Response
from pydantic import Field

from posfleet.deviceflow.service import DeviceFlowService
from posfleet.errors import Forbidden
from posfleet.flow.auth import ADMIN_TOKENS, Credentials, token_of
from posfleet.flow.schemas import FlowRequest
from posfleet.http import ClientAddress, DbSession, RuntimeDep
from posfleet.models.base import UID_PATTERN
from posfleet.tokens.principal import Principal
from posfleet.tokens.service import TokenService

router = APIRouter(prefix="/v2", tags=["Device"])


class DeviceRegisterRequest(FlowRequest):
    clientId: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    systemInformation: str | None = Field(default=None, max_length=2000)


class DeviceAuthorizeRequest(FlowRequest):
    deviceCode: str = Field(min_length=1, max_length=64)
    tenantUid: str = Field(min_length=1, max_length=64, pattern=UID_PATTERN)
    storeUid: str = Field(min_length=1, max_length=64, pattern=UID_PATTERN)
    tillUid: str | None = Field(default=None, min_length=1, max_length=64, pattern=UID_PATTERN)
    name: str | None = Field(default=None, max_length=200)


async def _user_principal(
    credentials: Credentials, session: DbSession, runtime: RuntimeDep
) -> Principal:
    """An authToken, accessToken or integrationToken; which tenant it may act in is checked
    against the body."""
    return await TokenService(session, runtime).authenticate(token_of(credentials), *ADMIN_TOKENS)


UserPrincipal = Annotated[Principal, Depends(_user_principal)]


@router.post("/device", summary="Register a new device (deprecated)")
async def register_device(
    body: DeviceRegisterRequest, session: DbSession, runtime: RuntimeDep, address: ClientAddress
) -> Response:
    registration = await DeviceFlowService(session, runtime).register(
        body.clientId, body.name, body.systemInformation, address
    )
    payload = {
        "deviceCode": registration.device_code,
        "deviceIdentifier": registration.device_identifier,
        "expires_in": registration.expires_in,
        "interval": registration.interval,
        "verificationUri": registration.verification_uri,
    }
    return Response(
        orjson.dumps(payload),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@router.post("/device/authorize", summary="Accept Device (deprecated)")
async def authorize_device(
    body: DeviceAuthorizeRequest,
    principal: UserPrincipal,
    session: DbSession,
    runtime: RuntimeDep,
    address: ClientAddress,
) -> Response:
    if principal.tenant.uid != body.tenantUid:
        raise Forbidden("The token does not grant access to this tenant")
    await DeviceFlowService(session, runtime).authorize(
        principal.tenant,
        principal.user,
        body.deviceCode,
        store_uid=body.storeUid,
        till_uid=body.tillUid,
        name=body.name,
        address=address,
    )
    return Response(status_code=200)
