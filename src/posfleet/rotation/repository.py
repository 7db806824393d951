"""How many rows each server secret still carries (reads only: every table has its owner).

A row *in use* is one whose credential or encrypted value can still be used: a live code
that has not expired, an API key or refresh token not revoked, a signing key still kept, a
message still waiting.  Rows that are spent, expired or revoked need no secret any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.models import (
    ApiKey,
    DeviceGrant,
    DeviceRefreshToken,
    LinkCode,
    OtpChallenge,
    OutboxEntry,
    PairingCode,
    SigningKey,
    WebhookEndpoint,
)
from posfleet.models.enums import CodeState, GrantState


@dataclass(frozen=True, slots=True)
class KeyCount:
    table: str
    secret_key_id: str
    rows: int
    in_use: int


def _in_use(now: datetime, refresh_idle: timedelta, keep_keys: timedelta) -> dict[Any, Any]:
    live = CodeState.LIVE
    return {
        ApiKey: ApiKey.revoked_at.is_(None),
        DeviceGrant: DeviceGrant.state.in_([GrantState.PENDING, GrantState.APPROVED])
        & (DeviceGrant.expires_at > now),
        DeviceRefreshToken: DeviceRefreshToken.revoked_at.is_(None)
        & (DeviceRefreshToken.last_used_at > now - refresh_idle),
        LinkCode: LinkCode.state == live,
        OtpChallenge: (OtpChallenge.state == live) & (OtpChallenge.expires_at > now),
        PairingCode: (PairingCode.state == live) & (PairingCode.expires_at > now),
        SigningKey: SigningKey.retired_at.is_(None) | (SigningKey.retired_at > now - keep_keys),
        WebhookEndpoint: true(),
        OutboxEntry: true(),
    }


class RotationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts(
        self, now: datetime, *, refresh_idle: timedelta, keep_keys: timedelta
    ) -> list[KeyCount]:
        """Rows and rows in use per table and key id (tables in name order)."""
        found = []
        for model, in_use in _in_use(now, refresh_idle, keep_keys).items():
            condition: ColumnElement[bool] = model.secret_key_id.is_not(None)
            if model is OutboxEntry:
                condition = condition & OutboxEntry.sealed.is_not(None)
            rows = await self.session.execute(
                select(
                    model.secret_key_id,
                    func.count(),
                    func.coalesce(func.sum(case((in_use, 1), else_=0)), 0),
                )
                .where(condition)
                .group_by(model.secret_key_id)
                .order_by(model.secret_key_id)
            )
            found += [
                KeyCount(model.__tablename__, kid, int(total), int(using))
                for kid, total, using in rows.all()
            ]
        return sorted(found, key=lambda c: (c.table, c.secret_key_id))
