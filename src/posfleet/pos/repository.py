"""Every query about POS logins: OTP challenges, sessions, refresh tokens and device claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.keyring import hash_is_any
from posfleet.kit.single_use import SingleUse
from posfleet.models import Device, OtpChallenge, PosRefreshToken, PosSession, TenantUser
from posfleet.models.enums import CodeState, SessionState

OTP_CHALLENGES = SingleUse(OtpChallenge)


class PosRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: OtpChallenge | PosSession | PosRefreshToken) -> None:
        self.session.add(row)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()

    # OTP challenges ----------------------------------------------------------------------

    async def challenge_by_token_hash(
        self, tenant_id: int, token_hashes: Sequence[str]
    ) -> OtpChallenge | None:
        """The challenge with one of these token hashes (one per live server secret)."""
        return await self.session.scalar(
            select(OtpChallenge)
            .where(
                OtpChallenge.tenant_id == tenant_id,
                hash_is_any(OtpChallenge.token_hash, token_hashes),
            )
            .limit(1)
        )

    async def spend_challenge(self, challenge_id: int, now: datetime) -> bool:
        """LIVE → SPENT; False when another request spent (or locked) it first."""
        return await OTP_CHALLENGES.spend(self.session, challenge_id, now)

    async def charge_challenge(
        self, challenge_id: int, max_failures: int, now: datetime
    ) -> CodeState | None:
        """Count one wrong OTP on a live challenge, locking it once its budget is used up; the
        state it is left in, None when it was no longer live."""
        states = await OTP_CHALLENGES.charge(
            self.session, OtpChallenge.id == challenge_id, max_failures, now
        )
        return CodeState(states[0]) if states else None

    # Sessions and refresh tokens ---------------------------------------------------------

    async def session_by_uid(self, tenant_id: int, uid: str) -> PosSession | None:
        return await self.session.scalar(
            select(PosSession).where(PosSession.tenant_id == tenant_id, PosSession.uid == uid)
        )

    async def session_by_id(self, session_id: int) -> PosSession | None:
        return await self.session.scalar(
            select(PosSession)
            .where(PosSession.id == session_id)
            .execution_options(populate_existing=True)
        )

    async def live_sessions_of(self, user_id: int) -> Sequence[PosSession]:
        """Oldest first."""
        result = await self.session.scalars(
            select(PosSession)
            .where(PosSession.user_id == user_id, PosSession.state == SessionState.LIVE)
            .order_by(PosSession.created_at, PosSession.id)
        )
        return result.all()

    async def lock_user(self, user_id: int) -> None:
        """Serialise logins of one user (PostgreSQL row lock; SQLite has one writer anyway)."""
        await self.session.execute(
            select(TenantUser.id).where(TenantUser.id == user_id).with_for_update()
        )

    async def end_session(
        self, pos_session: PosSession, state: SessionState, reason: str, now: datetime
    ) -> None:
        await self.session.execute(
            update(PosSession)
            .where(PosSession.id == pos_session.id, PosSession.state == SessionState.LIVE)
            .values(state=state, ended_reason=reason, ended_at=now)
        )
        await self.session.execute(
            update(PosRefreshToken)
            .where(
                PosRefreshToken.session_id == pos_session.id,
                PosRefreshToken.state == CodeState.LIVE,
            )
            .values(state=CodeState.REVOKED, spent_at=now)
        )
        await self.session.refresh(pos_session)

    async def refresh_token_by_jti(self, jti: str) -> PosRefreshToken | None:
        return await self.session.scalar(
            select(PosRefreshToken)
            .where(PosRefreshToken.jti == jti)
            .execution_options(populate_existing=True)
        )

    async def spend_refresh_token(self, token_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(PosRefreshToken)
            .where(PosRefreshToken.id == token_id, PosRefreshToken.state == CodeState.LIVE)
            .values(state=CodeState.SPENT, spent_at=now)
        )
        return affected_rows(result) == 1

    # Devices a POS user claims -----------------------------------------------------------

    async def devices_at(self, tenant_id: int, store_id: int) -> Sequence[Device]:
        result = await self.session.scalars(
            select(Device)
            .where(Device.tenant_id == tenant_id, Device.store_id == store_id)
            .order_by(Device.name, Device.id)
        )
        return result.all()

    async def device_at(self, tenant_id: int, store_id: int, uid: str) -> Device | None:
        return await self.session.scalar(
            select(Device).where(
                Device.tenant_id == tenant_id, Device.store_id == store_id, Device.uid == uid
            )
        )

    async def device_claimed_by(self, tenant_id: int, user_id: int) -> Device | None:
        return await self.session.scalar(
            select(Device)
            .where(Device.tenant_id == tenant_id, Device.claimed_by_user_id == user_id)
            .order_by(Device.claimed_at.desc(), Device.id.desc())
            .limit(1)
        )

    async def users_by_ids(self, tenant_id: int, ids: Sequence[int]) -> dict[int, TenantUser]:
        if not ids:
            return {}
        result = await self.session.scalars(
            select(TenantUser).where(TenantUser.tenant_id == tenant_id, TenantUser.id.in_(ids))
        )
        return {u.id: u for u in result.all()}
