"""POS sessions: access and refresh JWTs, rotation with reuse detection, logout, revocation.

Each sign-in starts a session (the family of its refresh tokens).  Refreshing spends the
presented refresh token and issues the next pair.  Presenting a refresh token that was already
rotated revokes the whole session (RFC 9700 section 4.14.2), except within
``pos_refresh_grace_seconds`` of its rotation: a client that lost the response, or two tabs
refreshing at once, get a refusal without killing the session the winner continues.

Every request checks the session, so logout and revocation take effect on the next request:
a logged-out session's tokens are 401, a revoked session's tokens are 403.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Forbidden, Unauthorized
from posfleet.kit.clock import utcnow
from posfleet.kit.jwt import TokenType
from posfleet.models import PosRefreshToken, PosSession, Store, Tenant, TenantUser
from posfleet.models.enums import CodeState, SessionState, UserStatus
from posfleet.pos.repository import PosRepository
from posfleet.pos.service import PosPrincipal, PosService
from posfleet.runtime import Runtime
from posfleet.tenants.stores import StoreService
from posfleet.users.service import UserService
from posfleet.webhooks.service import WebhookService

CHANNEL = {"id": "pos", "name": "POS", "type": "pos"}


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    session: PosSession


class PosSessionService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.repository = PosRepository(session)
        self.pos = PosService(session, runtime)
        self.stores = StoreService(session)
        self.users = UserService(session)
        self.webhooks = WebhookService(session, runtime)
        self.runtime = runtime
        self.codec = runtime.codec
        self.settings = runtime.settings

    async def start(self, tenant: Tenant, user: TenantUser, store: Store) -> TokenPair:
        """A new session; the user's oldest live sessions are revoked beyond the limit."""
        now = utcnow()
        await self.repository.lock_user(user.id)
        live = list(await self.repository.live_sessions_of(user.id))
        excess = len(live) - self.settings.pos_max_sessions_per_user + 1
        for old in live[: max(0, excess)]:
            await self.repository.end_session(old, SessionState.REVOKED, "session_limit", now)
        pos_session = PosSession(
            tenant_id=tenant.id, user_id=user.id, store_id=store.id, state=SessionState.LIVE
        )
        await self.repository.add(pos_session)
        await self.webhooks.publish(
            tenant.id,
            "pos_session.started",
            {"sessionUid": pos_session.uid, "userUid": user.uid, "locationUid": store.uid},
        )
        return await self._issue(tenant, user, store, pos_session)

    async def _issue(
        self, tenant: Tenant, user: TenantUser, store: Store, pos_session: PosSession
    ) -> TokenPair:
        view = await self.pos.user_view(user, store)
        claims: dict[str, Any] = {
            "sub": user.uid,
            "sid": pos_session.uid,
            "ulid": user.uid,
            "username": user.user_code,
            "email": user.email,
            "phone": user.mobile,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "store_id": tenant.uid,
            "tenant_id": tenant.uid,
            "location": {"id": view.location.uid, "name": view.location.name},
            "roles": [
                {
                    "location_id": role.store.uid,
                    "location_name": role.store.name,
                    "role_id": role.role_uid,
                    "role_name": role.role_name,
                }
                for role in view.roles
            ],
            "channel": CHANNEL,
            "is_logged_in": True,
        }
        access, _ = self.codec.encode(
            TokenType.POS_ACCESS,
            claims,
            timedelta(seconds=self.settings.pos_access_token_ttl_seconds),
        )
        jti = secrets.token_urlsafe(24)
        refresh, expires = self.codec.encode(
            TokenType.POS_REFRESH,
            {"sub": user.uid, "sid": pos_session.uid, "tenant_id": tenant.uid, "jti": jti},
            timedelta(seconds=self.settings.pos_refresh_token_ttl_seconds),
        )
        await self.repository.add(
            PosRefreshToken(
                session_id=pos_session.id, jti=jti, state=CodeState.LIVE, expires_at=expires
            )
        )
        return TokenPair(access, refresh, pos_session)

    async def refresh(self, tenant: Tenant, refresh_token: str) -> TokenPair:
        """Spend ``refresh_token`` and issue the next pair of its session."""
        claims = await self.runtime.decode_token(refresh_token, TokenType.POS_REFRESH)
        if claims.get("tenant_id") != tenant.uid:
            raise Unauthorized("The refresh token is not valid for this store")
        row = await self.repository.refresh_token_by_jti(str(claims.get("jti", "")))
        if row is None:
            raise Unauthorized("The refresh token is not valid")
        pos_session = await self.repository.session_by_id(row.session_id)
        if pos_session is None or pos_session.tenant_id != tenant.id:
            raise Unauthorized("The refresh token is not valid")
        self._check_live(pos_session)
        now = utcnow()
        if not await self.repository.spend_refresh_token(row.id, now):
            row = await self.repository.refresh_token_by_jti(row.jti)
            assert row is not None
            grace = timedelta(seconds=self.settings.pos_refresh_grace_seconds)
            if row.state is CodeState.SPENT and row.spent_at and now - row.spent_at <= grace:
                raise Unauthorized(
                    "The refresh token was just rotated; use the newest one",
                    code="refresh_token_rotated",
                )
            pos_session = await self.repository.session_by_id(row.session_id)
            assert pos_session is not None
            if pos_session.state is SessionState.LIVE:
                await self.repository.end_session(
                    pos_session, SessionState.REVOKED, "refresh_token_reuse", now
                )
                raise Forbidden(
                    "The refresh token was already used; the session is revoked",
                    code="session_revoked",
                    keeps_work=True,
                )
            self._check_live(pos_session)
        user = await self.users.find_by_id(tenant.id, pos_session.user_id)
        if user is None or user.status != UserStatus.ACTIVE:
            raise Unauthorized("The user may no longer sign in")
        store = await self.stores.get_store_by_id(tenant.id, pos_session.store_id)
        pos_session.last_refreshed_at = now
        return await self._issue(tenant, user, store, pos_session)

    @staticmethod
    def _check_live(pos_session: PosSession) -> None:
        if pos_session.state is SessionState.REVOKED:
            raise Forbidden("The session has been revoked", code="session_revoked")
        if pos_session.state is not SessionState.LIVE:
            raise Unauthorized("The session has ended", code="session_ended")

    async def authenticate(self, tenant: Tenant, access_token: str) -> PosPrincipal:
        """The live session an access token belongs to; 401 if dead, 403 if revoked."""
        claims = await self.runtime.decode_token(access_token, TokenType.POS_ACCESS)
        if claims.get("tenant_id") != tenant.uid:
            raise Unauthorized("The token is not valid for this store")
        pos_session = await self.repository.session_by_uid(tenant.id, str(claims.get("sid", "")))
        if pos_session is None:
            raise Unauthorized("The token is not valid")
        self._check_live(pos_session)
        user = await self.users.find_by_id(tenant.id, pos_session.user_id)
        if user is None or user.status != UserStatus.ACTIVE:
            raise Unauthorized("The user may no longer sign in")
        store = await self.stores.get_store_by_id(tenant.id, pos_session.store_id)
        return PosPrincipal(tenant, user, store, pos_session)

    async def logout(self, principal: PosPrincipal) -> None:
        await self.repository.end_session(
            principal.session, SessionState.LOGGED_OUT, "logout", utcnow()
        )
        await self.webhooks.publish(
            principal.tenant.id,
            "pos_session.ended",
            {
                "sessionUid": principal.session.uid,
                "userUid": principal.user.uid,
                "locationUid": principal.store.uid,
                "reason": "logout",
            },
        )
