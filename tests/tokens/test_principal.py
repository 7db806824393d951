"""Tokens are checked against the database on every use."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.errors import Unauthorized
from posfleet.kit.jwt import TokenType
from posfleet.models.enums import AppCode, UserStatus
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories


async def test_a_device_token_dies_with_a_reset(session: AsyncSession, runtime: Runtime) -> None:
    tenant = await factories.tenant(session)
    devices = DeviceService(session, runtime)
    device, _ = await devices.create(tenant.id, name="a", app_code=AppCode.CLIENT, actor="x")
    await devices.activate(device, "x", how="test")
    tokens = TokenService(session, runtime)
    token, _ = tokens.device_token(device, tenant)
    principal = await tokens.authenticate(token, TokenType.DEVICE)
    assert principal.device is not None
    assert principal.device.uid == device.uid
    await devices.reset_link(device, "x")
    with pytest.raises(Unauthorized):
        await tokens.authenticate(token, TokenType.DEVICE)


async def test_a_blocked_device_token_is_refused(session: AsyncSession, runtime: Runtime) -> None:
    tenant = await factories.tenant(session)
    devices = DeviceService(session, runtime)
    device, _ = await devices.create(tenant.id, name="a", app_code=AppCode.CLIENT, actor="x")
    await devices.activate(device, "x", how="test")
    tokens = TokenService(session, runtime)
    token, _ = tokens.device_token(device, tenant)
    await devices.block(device, "x")
    with pytest.raises(Unauthorized, match="blocked"):
        await tokens.authenticate(token, TokenType.DEVICE)


async def test_a_token_of_the_wrong_type_is_refused(
    session: AsyncSession, runtime: Runtime
) -> None:
    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant)
    tokens = TokenService(session, runtime)
    token, _ = tokens.auth_token(user, tenant)
    with pytest.raises(Unauthorized, match="wrong type"):
        await tokens.authenticate(token, TokenType.DEVICE)


async def test_a_deactivated_user_token_is_refused(session: AsyncSession, runtime: Runtime) -> None:
    tenant = await factories.tenant(session)
    user = await factories.user(session, tenant)
    tokens = TokenService(session, runtime)
    token, _ = tokens.auth_token(user, tenant)
    assert (await tokens.authenticate(token, TokenType.AUTH)).user is user
    user.status = UserStatus.INACTIVE
    with pytest.raises(Unauthorized, match="not active"):
        await tokens.authenticate(token, TokenType.AUTH)
