"""``Idempotency-Key``: a retried request gets the stored answer of the first one.

The key is claimed with a conditional insert on the unique ``(tenant_id, scope, key)``, in the
request's own unit of work: a concurrent request with the same key waits on that row (PostgreSQL)
or on the write lock (SQLite) until the first one commits, then finds its answer.  If the first
request fails, its claim rolls back with it and the key is free again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import BadRequest, Conflict, ValidationFailed
from posfleet.models.idempotency_record import IdempotencyRecord

_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_PENDING = 0


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status_code: int
    body: dict[str, Any]


def request_hash(payload: Any) -> str:
    """A stable hash of a request's meaning (its JSON with sorted keys)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
            errors={"Idempotency-Key": "1 to 200 visible ASCII characters"},
        )
    return key


class IdempotencyStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        postgres = session.get_bind().dialect.name == "postgresql"
        self._insert = pg_insert if postgres else sqlite_insert

    async def claim(self, tenant_id: int, scope: str, key: str, digest: str) -> StoredAnswer | None:
        """None when this request now owns ``key``; else the answer of the request that did.

        The same key with a different request is refused (400).
        """
        stmt = (
            self._insert(IdempotencyRecord)
            .values(
                tenant_id=tenant_id,
                scope=scope,
                key=key,
                request_hash=digest,
                status_code=_PENDING,
                response_body={},
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "scope", "key"])
            .returning(IdempotencyRecord.id)
        )
        if (await self.session.execute(stmt)).scalar_one_or_none() is not None:
            return None
        row = (
            await self.session.execute(
                select(
                    IdempotencyRecord.request_hash,
                    IdempotencyRecord.status_code,
                    IdempotencyRecord.response_body,
                ).where(
                    IdempotencyRecord.tenant_id == tenant_id,
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                )
            )
        ).one()
        if row.request_hash != digest:
            raise BadRequest(
                "This Idempotency-Key was already used with a different request",
                code="idempotency_key_reused",
            )
        if row.status_code == _PENDING:
            raise Conflict("A request with this Idempotency-Key is still in progress")
        return StoredAnswer(row.status_code, dict(row.response_body))

    async def complete(
        self, tenant_id: int, scope: str, key: str, status_code: int, body: dict[str, Any]
    ) -> None:
        await self.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.tenant_id == tenant_id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
            .values(status_code=status_code, response_body=body)
        )
