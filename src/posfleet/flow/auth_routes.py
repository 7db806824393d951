"""posfleet's auth service in Flow terms: sign-in, the tenant token exchange, the public keys."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from posfleet.auth.service import AuthService
from posfleet.flow.auth import Credentials, token_of
from posfleet.flow.schemas import UID_REGEX, FlowModel, FlowRequest
from posfleet.http import ClientAddress, DbSession, RuntimeDep
from posfleet.kit.clock import unix
from posfleet.runtime import KEY_RELOAD_MIN_INTERVAL

router = APIRouter(tags=["Auth"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request (generic error body)"},
    401: {"description": "Wrong credentials or a missing, expired or invalid token"},
    403: {"description": "The token belongs to another tenant"},
    429: {"description": "Too many attempts from this address"},
}


class LoginRequest(FlowRequest):
    userCode: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    tenantUid: str | None = Field(default=None, pattern=UID_REGEX, max_length=64)


class LoginResponse(FlowModel):
    authToken: str
    expires: int = Field(description="Unix timestamp when the authToken expires")


class AccessTokenResponse(FlowModel):
    accessToken: str
    expires: int = Field(description="Unix timestamp when the accessToken expires")


@router.post(
    "/auth/login",
    summary="Sign in a back-office user",
    response_model=LoginResponse,
    responses=_ERRORS,
)
async def login(
    body: LoginRequest, session: DbSession, runtime: RuntimeDep, address: ClientAddress
) -> LoginResponse:
    """``tenantUid`` is needed only when the user code exists in several tenants."""
    token, expires = await AuthService(session, runtime).login(
        body.userCode, body.password, body.tenantUid, address
    )
    return LoginResponse(authToken=token, expires=unix(expires))


@router.post(
    "/v2/tenants/{tenantUid}/account",
    summary="Exchange an authToken for a tenant accessToken",
    response_model=AccessTokenResponse,
    responses=_ERRORS,
)
async def exchange(
    credentials: Credentials,
    session: DbSession,
    runtime: RuntimeDep,
    tenant_uid: Annotated[str, Path(alias="tenantUid", pattern=UID_REGEX, max_length=64)],
) -> AccessTokenResponse:
    token, expires = await AuthService(session, runtime).exchange(token_of(credentials), tenant_uid)
    return AccessTokenResponse(accessToken=token, expires=unix(expires))


@router.get("/.well-known/jwks.json", summary="Public keys that verify posfleet's tokens")
async def jwks(runtime: RuntimeDep) -> dict[str, Any]:
    # Another replica, or `posfleet keys rotate`, may have added a key since this one loaded; the
    # reload is throttled like the one for unknown key ids, so that the public endpoint cannot be
    # turned into a database query per request.
    if time.monotonic() - runtime.keys_loaded_at > KEY_RELOAD_MIN_INTERVAL:
        await runtime.reload_signing_keys()
    return runtime.codec.jwks()
