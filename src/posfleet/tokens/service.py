"""Issuing posfleet's JWTs and turning a presented token back into a live :class:`Principal`.

Tokens are stateless to verify but never trusted alone: every request checks the rows a token
names, read again or kept in process while the change feed vouches for them (tokens/live.py,
kit/changes.py), so block, reset, delete, revocation and user deactivation bite on the next
request of the process that made them and within 100 ms on every other (docs/security.md).

Claims: ``sub`` (user or device uid), ``ten`` (tenant uid), ``typ``; device tokens add ``gen``
(the device's credential epoch) and ``cid`` (its row's credential nonce, which a later row of
the same uid never repeats); user tokens add ``ver`` (the user's token version);
``device_user`` tokens add ``dev``; integration tokens' ``jti`` names their revocable row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Unauthorized
from posfleet.kit import requestlog
from posfleet.kit.jwt import TokenType
from posfleet.models import Device, IntegrationToken, Tenant, TenantUser
from posfleet.models.enums import AccountType, DeviceStatus, UserStatus
from posfleet.runtime import Runtime
from posfleet.tokens.principal import Principal
from posfleet.tokens.repository import TokenRepository

# An integration token without an expiry still needs an ``exp`` claim.
INTEGRATION_TOKEN_HORIZON = timedelta(days=3650)


class TokenService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.settings = runtime.settings
        self.repo = TokenRepository(session)

    # Issuing

    def _encode(
        self, typ: TokenType, claims: dict[str, Any], ttl: timedelta
    ) -> tuple[str, datetime]:
        return self.runtime.codec.encode(typ, claims, ttl)

    def auth_token(self, user: TenantUser, tenant: Tenant) -> tuple[str, datetime]:
        return self._encode(
            TokenType.AUTH,
            _user_claims(user, tenant),
            timedelta(seconds=self.settings.auth_token_ttl_seconds),
        )

    def access_token(self, user: TenantUser, tenant: Tenant) -> tuple[str, datetime]:
        return self._encode(
            TokenType.ACCESS,
            _user_claims(user, tenant),
            timedelta(seconds=self.settings.access_token_ttl_seconds),
        )

    def integration_token(
        self, row: IntegrationToken, user: TenantUser, tenant: Tenant
    ) -> tuple[str, datetime]:
        ttl = row.expires_at - row.created_at if row.expires_at else INTEGRATION_TOKEN_HORIZON
        return self._encode(
            TokenType.INTEGRATION, {**_user_claims(user, tenant), "jti": row.jti}, ttl
        )

    def device_token(self, device: Device, tenant: Tenant) -> tuple[str, datetime]:
        return device_token_for(
            self.runtime,
            device.uid,
            tenant.uid,
            device.credential_generation,
            device.credential_nonce,
        )

    def device_user_token(
        self, user: TenantUser, device: Device, tenant: Tenant
    ) -> tuple[str, datetime]:
        return self._encode(
            TokenType.DEVICE_USER,
            {
                **_user_claims(user, tenant),
                "dev": device.uid,
                "gen": device.credential_generation,
                "cid": device.credential_nonce,
            },
            timedelta(seconds=self.settings.access_token_ttl_seconds),
        )

    # Verifying

    async def decode(self, token: str, *types: TokenType) -> dict[str, Any]:
        return await self.runtime.decode_token(token, *types)

    async def authenticate(self, token: str, *types: TokenType, kept: bool = False) -> Principal:
        """The live principal behind ``token``, or :class:`Unauthorized`.

        With ``kept``, a device token's tenant and device, or a user token's tenant and user
        (not an integration token's, whose own row is read), may come from the rows kept in
        process (tokens/live.py) and are shared between requests: only for callers that change
        neither.
        """
        claims = await self.decode(token, *types)
        typ = TokenType(claims["typ"])
        tenant_uid = str(claims.get("ten", ""))
        requestlog.note_tenant(tenant_uid)  # a verified claim; the request log names it
        if typ in (TokenType.DEVICE, TokenType.DEVICE_USER):
            device_uid = claims["sub"] if typ is TokenType.DEVICE else claims.get("dev", "")
            live = self.runtime.live_devices
            key = (tenant_uid, str(device_uid))
            use_kept = kept and typ is TokenType.DEVICE and self.runtime.changes_current()
            principal = self.kept_principal(self.runtime, claims) if use_kept else None
            if principal is not None:
                return principal
            generation = live.generation
            tenant, found = await self.repo.tenant_and_device(tenant_uid, str(device_uid))
            if tenant is None:
                raise Unauthorized("The token's tenant no longer exists")
            if use_kept and found is not None:
                # Out of this session, so that its rollback or commit never expires them.
                self.session.expunge(tenant)
                self.session.expunge(found)
                live.put(key, tenant, found, generation)
            device = self._live_device(found, claims)
            user = None
            if typ is TokenType.DEVICE_USER:
                user = await self._live_user(tenant, claims)
            return Principal(typ, tenant, user=user, device=device)
        user_key = (tenant_uid, str(claims["sub"]))
        use_kept = kept and typ is not TokenType.INTEGRATION and self.runtime.users_current()
        users = self.runtime.live_users
        hit = users.get(user_key) if use_kept else None
        if hit is not None:
            return Principal(typ, hit[0], user=self._check_user(hit[1], claims))
        generation = users.generation
        tenant, found_user = await self.repo.tenant_and_user(*user_key)
        if tenant is None:
            raise Unauthorized("The token's tenant no longer exists")
        if use_kept and found_user is not None:
            # Out of this session, so that its rollback or commit never expires them.
            self.session.expunge(tenant)
            self.session.expunge(found_user)
            users.put(user_key, tenant, found_user, generation)
        user = self._check_user(found_user, claims)
        if typ is TokenType.INTEGRATION:
            await self._live_integration_token(user, str(claims.get("jti", "")))
        return Principal(typ, tenant, user=user)

    @staticmethod
    def kept_principal(runtime: Runtime, claims: dict[str, Any]) -> Principal | None:
        """The principal of verified device-token ``claims`` from the rows kept in process, or
        None when they must be read (not kept, or not known to be unchanged)."""
        if claims.get("typ") != TokenType.DEVICE.value or not runtime.changes_current():
            return None
        hit = runtime.live_devices.get((str(claims.get("ten", "")), str(claims["sub"])))
        if hit is None:
            return None
        return Principal(TokenType.DEVICE, hit[0], device=TokenService._live_device(hit[1], claims))

    @staticmethod
    def _live_device(device: Device | None, claims: dict[str, Any]) -> Device:
        if (
            device is None
            or device.credential_generation != claims.get("gen")
            # The epoch restarts on a new row of the same uid; the nonce never repeats.
            or device.credential_nonce != claims.get("cid", "")
        ):
            raise Unauthorized("The device's credentials have been revoked")
        if device.status is not DeviceStatus.ACTIVE:
            raise Unauthorized(f"The device is {device.status.lower().replace('_', ' ')}")
        return device

    async def _live_user(self, tenant: Tenant, claims: dict[str, Any]) -> TenantUser:
        return self._check_user(await self.repo.user(tenant.id, str(claims["sub"])), claims)

    @staticmethod
    def _check_user(user: TenantUser | None, claims: dict[str, Any]) -> TenantUser:
        if user is None or user.token_version != claims.get("ver"):
            raise Unauthorized("The user's tokens have been revoked")
        if user.status is not UserStatus.ACTIVE:
            raise Unauthorized("The user is not active")
        return user

    async def _live_integration_token(self, user: TenantUser, jti: str) -> None:
        row = await self.repo.integration_token(jti)
        if (
            row is None
            or row.revoked_at is not None
            or row.user_id != user.id
            or user.account_type is not AccountType.INTEGRATION
        ):
            raise Unauthorized("The integration token has been revoked")


def device_token_for(
    runtime: Runtime, device_uid: str, tenant_uid: str, generation: int, nonce: str
) -> tuple[str, datetime]:
    """A device token from the columns it names (a refresh loads no rows, nor needs a
    session)."""
    return runtime.codec.encode(
        TokenType.DEVICE,
        {"sub": device_uid, "ten": tenant_uid, "gen": generation, "cid": nonce},
        timedelta(seconds=runtime.settings.device_token_ttl_seconds),
    )


def _user_claims(user: TenantUser, tenant: Tenant) -> dict[str, Any]:
    return {"sub": user.uid, "ten": tenant.uid, "ver": user.token_version, "uc": user.user_code}
