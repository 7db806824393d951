"""FastAPI dependencies shared by every router: the runtime, the unit of work, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.db import session_scope
from posfleet.runtime import Runtime


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# Dependencies are coroutines: FastAPI runs a plain function in a worker thread, a thread hop
# per dependency per request.
async def get_runtime(request: Request) -> Runtime:
    return _runtime(request)


async def get_settings(request: Request) -> Settings:
    return _runtime(request).settings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(_runtime(request).sessionmaker) as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with session_scope(_runtime(request).read_sessionmaker) as session:
        yield session


async def client_address(request: Request) -> str:
    """The caller's address: the peer, or behind ``trusted_proxies`` the rightmost untrusted
    ``X-Forwarded-For`` hop (``TrustedProxyMiddleware``)."""
    return request.client.host if request.client else "unknown"


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the unit of work commits before the response is sent, so a failed commit is
# the client's error response and never a success the database does not hold.
DbSession = Annotated[AsyncSession, Depends(_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
ClientAddress = Annotated[str, Depends(client_address)]
