"""Commerce Engine authentication: ``X-Api-Key`` for the storefront key, Bearer for a POS user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from posfleet.apikeys.service import ApiKeyService
from posfleet.config import is_loopback
from posfleet.errors import Unauthorized
from posfleet.http import DbSession, RuntimeDep
from posfleet.models import Tenant
from posfleet.pos.service import PosPrincipal
from posfleet.pos.sessions import PosSessionService
from posfleet.tenants.service import TenantService

_api_key = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="A storefront API key of this store"
)
_bearer = HTTPBearer(auto_error=False, description="A POS access token")

StoreId = Annotated[str, Path(max_length=64, description="The store (posfleet tenant uid)")]
ApiKeyHeader = Annotated[str | None, Depends(_api_key)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def api_key_tenant(
    store_id: StoreId, api_key: ApiKeyHeader, session: DbSession, runtime: RuntimeDep
) -> Tenant:
    return await ApiKeyService(session, runtime).authenticate(store_id, api_key)


async def pos_principal(
    store_id: StoreId, credentials: Credentials, session: DbSession, runtime: RuntimeDep
) -> PosPrincipal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("A bearer token is required")
    tenant = await TenantService(session).find_tenant(store_id)
    if tenant is None:
        raise Unauthorized("The token is not valid for this store")
    return await PosSessionService(session, runtime).authenticate(tenant, credentials.credentials)


async def api_key_or_user_tenant(
    store_id: StoreId,
    api_key: ApiKeyHeader,
    credentials: Credentials,
    session: DbSession,
    runtime: RuntimeDep,
) -> Tenant:
    if api_key:
        return await api_key_tenant(store_id, api_key, session, runtime)
    if credentials is not None:
        return (await pos_principal(store_id, credentials, session, runtime)).tenant
    raise Unauthorized("An X-Api-Key header or a bearer token is required")


async def store_tenant(store_id: StoreId, session: DbSession) -> Tenant:
    """The store in the path, for the one operation that needs no credential (refresh)."""
    tenant = await TenantService(session).find_tenant(store_id)
    if tenant is None:
        raise Unauthorized("The refresh token is not valid for this store")
    return tenant


def debug_mode(request: Request, x_debug_mode: Annotated[str | None, Header()] = None) -> bool:
    """Whether the caller asked for the OTP back and sits on this machine: the connection came
    in on a loopback address from a loopback peer (``debug_otp_reveal`` decides the rest)."""
    asked = (x_debug_mode or "").strip().lower() == "true"
    server, client = request.scope.get("server"), request.client
    return (
        asked
        and server is not None
        and client is not None
        and is_loopback(str(server[0]))
        and is_loopback(client.host)
    )


ApiKeyTenant = Annotated[Tenant, Depends(api_key_tenant)]
ApiKeyOrUserTenant = Annotated[Tenant, Depends(api_key_or_user_tenant)]
StoreTenant = Annotated[Tenant, Depends(store_tenant)]
Principal = Annotated[PosPrincipal, Depends(pos_principal)]
DebugMode = Annotated[bool, Depends(debug_mode)]
