"""Flow v2 bearer authentication: typed dependencies for each security scheme of the spec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import session_scope
from posfleet.errors import Forbidden, Unauthorized
from posfleet.http import DbSession, ReadSession, RuntimeDep
from posfleet.kit.jwt import TokenType
from posfleet.runtime import Runtime
from posfleet.tokens.principal import Principal
from posfleet.tokens.service import TokenService

_bearer = HTTPBearer(auto_error=False, description="A posfleet JWT")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

ADMIN_TOKENS = (TokenType.AUTH, TokenType.ACCESS, TokenType.INTEGRATION)


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("A bearer token is required")
    return credentials.credentials


def token_of(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The presented bearer token, or 401 when there is none."""
    return _token(credentials)


def bearer_token(authorization: str | None) -> str:
    """The bearer token of an ``Authorization`` header, read as ``HTTPBearer`` reads it."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required")
    return credentials


TenantUid = Annotated[str, Path(alias="tenantUid", pattern=r"^[A-Za-z0-9_-]+$")]


async def admin_principal(
    credentials: Credentials, session: DbSession, runtime: RuntimeDep, tenant_uid: TenantUid
) -> Principal:
    """An authToken, accessToken or integrationToken of ``tenantUid`` allowed to manage devices.

    A token of another tenant gets 403 and learns nothing about the tenant in the path.
    """
    return await _admin(credentials, session, runtime, tenant_uid)


async def _admin(
    credentials: HTTPAuthorizationCredentials | None,
    session: AsyncSession,
    runtime: Runtime,
    tenant_uid: str,
    *,
    kept: bool = False,
) -> Principal:
    principal = await TokenService(session, runtime).authenticate(
        _token(credentials), *ADMIN_TOKENS, kept=kept
    )
    if principal.tenant.uid != tenant_uid:
        raise Forbidden("The token does not grant access to this tenant")
    if not principal.can_manage_devices:
        raise Forbidden("TENANT.ADMIN or DEVICE permission is required")
    return principal


async def device_principal(
    credentials: Credentials, session: DbSession, runtime: RuntimeDep
) -> Principal:
    """A deviceToken of an ACTIVE device."""
    return await TokenService(session, runtime).authenticate(_token(credentials), TokenType.DEVICE)


async def device_or_user_principal(
    credentials: Credentials, session: DbSession, runtime: RuntimeDep
) -> Principal:
    """A deviceToken, or the accessToken of a user logged in on that device."""
    return await TokenService(session, runtime).authenticate(
        _token(credentials), TokenType.DEVICE, TokenType.DEVICE_USER
    )


async def _per_statement_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with session_scope(runtime.per_statement_sessionmaker) as session:
        yield session


# Token refreshes read, and at most write a statement that stands alone: they need no
# BEGIN/COMMIT round trips around them (db.create_sessionmaker).
PerStatementSession = Annotated[AsyncSession, Depends(_per_statement_session, scope="function")]


async def admin_reader_principal(
    credentials: Credentials,
    session: ReadSession,
    runtime: RuntimeDep,
    tenant_uid: TenantUid,
) -> Principal:
    """As :func:`admin_principal`, checked in the request's read session: lists and searches
    only read, and READ COMMITTED gives each of their statements its own snapshot inside a
    transaction too.  They change neither the tenant nor the user, so both may come from the
    rows kept in process (tokens/live.py): re-read after any change to either, on every
    replica, and on every request while changes are not heard."""
    return await _admin(credentials, session, runtime, tenant_uid, kept=True)


AdminPrincipal = Annotated[Principal, Depends(admin_principal)]
AdminReaderPrincipal = Annotated[Principal, Depends(admin_reader_principal)]
DevicePrincipal = Annotated[Principal, Depends(device_principal)]
DeviceOrUserPrincipal = Annotated[Principal, Depends(device_or_user_principal)]
