"""Signing keys: stored encrypted in the database so every replica signs and verifies alike.

Each private key is encrypted under the newest server secret of the process that made it (or
last re-encrypted it, ``posfleet secrets reencrypt``) and records that secret's key id.  A key
encrypted under a secret that is no longer listed cannot be read: it is left out (tokens it
signed are refused like any unknown key's), and a new signing key is made if no live one is
left.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.kit.jwt import (
    JwtCodec,
    KeyMaterial,
    decrypt_private_key,
    encrypt_private_key,
    generate_key,
)
from posfleet.kit.keyring import ServerSecrets
from posfleet.kit.resealing import ResealBatch, Resealer
from posfleet.models.signing_key import SigningKey

log = structlog.get_logger("posfleet.keys")


async def load_keys(
    session: AsyncSession, secrets: ServerSecrets, *, keep_retired_for: timedelta
) -> list[KeyMaterial]:
    """Live keys, and retired keys still young enough to verify tokens they signed."""
    horizon = utcnow() - keep_retired_for
    rows = (
        await session.scalars(
            select(SigningKey).where(
                (SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > horizon)
            )
        )
    ).all()
    loaded = []
    for row in rows:
        secret = secrets.by_id(row.secret_key_id)
        if secret is None:
            log.warning(
                "signing key encrypted under a server secret no longer listed; left out",
                kid=row.kid,
                secret_key_id=row.secret_key_id,
            )
            continue
        loaded.append(
            KeyMaterial(
                kid=row.kid,
                algorithm=row.algorithm,
                private_key=decrypt_private_key(row.private_key_encrypted, secret, row.kid),
                public_jwk=row.public_jwk,
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
        )
    return loaded


async def add_key(session: AsyncSession, secrets: ServerSecrets, algorithm: str) -> KeyMaterial:
    key = generate_key(algorithm)
    session.add(
        SigningKey(
            kid=key.kid,
            algorithm=key.algorithm,
            private_key_encrypted=encrypt_private_key(key.private_key, secrets.current, key.kid),
            secret_key_id=secrets.current_id,
            public_jwk=key.public_jwk,
            created_at=key.created_at,
        )
    )
    await session.flush()
    return key


async def rotate(session: AsyncSession, secrets: ServerSecrets, algorithm: str) -> KeyMaterial:
    """Add a new signing key and retire the others for signing; they still verify."""
    now = utcnow()
    for row in await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = now
    return await add_key(session, secrets, algorithm)


async def ensure_key(session: AsyncSession, secrets: ServerSecrets, algorithm: str) -> None:
    live = await session.scalar(
        select(SigningKey.id).where(
            SigningKey.retired_at.is_(None), SigningKey.secret_key_id.in_(secrets.ids)
        )
    )
    if live is None:
        await add_key(session, secrets, algorithm)


async def refresh_codec(
    codec: JwtCodec, session: AsyncSession, secrets: ServerSecrets, *, keep_retired_for: timedelta
) -> None:
    codec.replace_keys(await load_keys(session, secrets, keep_retired_for=keep_retired_for))


def _reseal(sealed: bytes, old: bytes, new: bytes, row: Row[Any]) -> bytes:
    return encrypt_private_key(decrypt_private_key(sealed, old, row.kid), new, row.kid)


SIGNING_KEYS = Resealer(SigningKey, "private_key_encrypted", _reseal, extra=("kid",))


async def reencrypt_batch(
    session: AsyncSession, secrets: ServerSecrets, after_id: int, limit: int, *, dry_run: bool
) -> ResealBatch:
    """Encrypt up to ``limit`` signing keys (ids above ``after_id``) under the newest secret."""
    return await SIGNING_KEYS.batch(session, secrets, after_id, limit, dry_run=dry_run)
