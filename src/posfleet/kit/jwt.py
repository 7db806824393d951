"""Signed JSON Web Tokens with rotating asymmetric keys (EdDSA or ES256) and a JWKS.

Every token carries ``kid`` in its header and a ``typ`` claim; decoding names the types it
accepts, so a refresh token can never pass where an access token is expected.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from posfleet.errors import Unauthorized
from posfleet.kit.clock import unix, utcnow


class TokenType(StrEnum):
    AUTH = "auth"  # back-office sign-in (posfleet's own auth service)
    ACCESS = "access"  # Flow tenant access token (exchanged from an auth token)
    INTEGRATION = "integration"  # long-lived, for INTEGRATION users
    DEVICE = "device"  # Flow device token
    DEVICE_USER = "device_user"  # Flow access token of a user logged in on a device
    POS_ACCESS = "pos_access"  # Commerce Engine access token
    POS_REFRESH = "pos_refresh"  # Commerce Engine refresh token


PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    kid: str
    algorithm: str
    private_key: PrivateKey
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None


def generate_key(algorithm: str) -> KeyMaterial:
    private: PrivateKey
    if algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        algo: Any = jwt.algorithms.OKPAlgorithm
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
        algo = jwt.algorithms.ECAlgorithm
    else:
        raise ValueError(f"unsupported JWT algorithm {algorithm}")
    kid = secrets.token_urlsafe(12)
    jwk = json.loads(algo.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": algorithm, "use": "sig"})
    return KeyMaterial(kid, algorithm, private, jwk, utcnow())


def _wrapping_key(secret: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"posfleet-signing-keys")
    return AESGCM(hkdf.derive(secret))


def encrypt_private_key(key: PrivateKey, secret: bytes, kid: str) -> bytes:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(12)
    return nonce + _wrapping_key(secret).encrypt(nonce, pem, kid.encode())


def decrypt_private_key(blob: bytes, secret: bytes, kid: str) -> PrivateKey:
    pem = _wrapping_key(secret).decrypt(blob[:12], blob[12:], kid.encode())
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("stored signing key is of an unsupported kind")
    return key


@dataclass(slots=True)
class JwtCodec:
    """Signs with the newest live key; verifies with any key it knows by ``kid``."""

    issuer: str
    keys: dict[str, KeyMaterial] = field(default_factory=dict)

    def replace_keys(self, keys: list[KeyMaterial]) -> None:
        self.keys = {k.kid: k for k in keys}

    @property
    def signing_key(self) -> KeyMaterial:
        live = [k for k in self.keys.values() if k.retired_at is None]
        if not live:
            raise RuntimeError(
                "no signing key; run `posfleet db upgrade` or `posfleet keys rotate`"
            )
        return max(live, key=lambda k: k.created_at)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in sorted(self.keys.values(), key=lambda k: k.kid)]}

    def encode(
        self, typ: TokenType, claims: dict[str, Any], ttl: timedelta
    ) -> tuple[str, datetime]:
        key = self.signing_key
        now = utcnow()
        expires = now + ttl
        payload = {
            "iss": self.issuer,
            "iat": unix(now),
            "exp": unix(expires),
            "jti": claims.get("jti") or secrets.token_urlsafe(12),
            "typ": typ.value,
            **claims,
        }
        token = jwt.encode(
            payload, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid}
        )
        return token, expires

    def unverified_kid(self, token: str) -> str | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return None
        return kid if isinstance(kid, str) else None

    def decode(self, token: str, *types: TokenType, verify_exp: bool = True) -> dict[str, Any]:
        """Verified claims of ``token`` if it is one of ``types``; else :class:`Unauthorized`."""
        kid = self.unverified_kid(token)
        key = self.keys.get(kid) if kid else None
        if key is None:
            raise Unauthorized("The token is malformed or signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.private_key.public_key(),
                algorithms=[key.algorithm],
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "typ", "sub"],
                    "verify_exp": verify_exp,
                },
                leeway=5,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The token is not valid") from exc
        if claims.get("typ") not in {t.value for t in types}:
            raise Unauthorized("The token is of the wrong type for this operation")
        return claims
