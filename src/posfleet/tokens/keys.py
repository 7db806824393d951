"""Signing keys: stored encrypted in the database so every replica signs and verifies alike."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.kit.jwt import (
    JwtCodec,
    KeyMaterial,
    decrypt_private_key,
    encrypt_private_key,
    generate_key,
)
from posfleet.models.signing_key import SigningKey


async def load_keys(
    session: AsyncSession, secret: bytes, *, keep_retired_for: timedelta
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
    return [
        KeyMaterial(
            kid=row.kid,
            algorithm=row.algorithm,
            private_key=decrypt_private_key(row.private_key_encrypted, secret, row.kid),
            public_jwk=row.public_jwk,
            created_at=row.created_at,
            retired_at=row.retired_at,
        )
        for row in rows
    ]


async def add_key(session: AsyncSession, secret: bytes, algorithm: str) -> KeyMaterial:
    key = generate_key(algorithm)
    session.add(
        SigningKey(
            kid=key.kid,
            algorithm=key.algorithm,
            private_key_encrypted=encrypt_private_key(key.private_key, secret, key.kid),
            public_jwk=key.public_jwk,
            created_at=key.created_at,
        )
    )
    await session.flush()
    return key


async def rotate(session: AsyncSession, secret: bytes, algorithm: str) -> KeyMaterial:
    """Add a new signing key and retire the others for signing; they still verify."""
    now = utcnow()
    for row in await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        row.retired_at = now
    return await add_key(session, secret, algorithm)


async def ensure_key(session: AsyncSession, secret: bytes, algorithm: str) -> None:
    live = await session.scalar(select(SigningKey.id).where(SigningKey.retired_at.is_(None)))
    if live is None:
        await add_key(session, secret, algorithm)


async def refresh_codec(
    codec: JwtCodec, session: AsyncSession, secret: bytes, *, keep_retired_for: timedelta
) -> None:
    codec.replace_keys(await load_keys(session, secret, keep_retired_for=keep_retired_for))
