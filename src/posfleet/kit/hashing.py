"""Hashes for every stored secret.

* Passwords and PINs: argon2id, verified off the event loop.
* Codes and high-entropy tokens: HMAC-SHA256 keyed with the server secret, so a stolen database
  cannot be used to test guesses offline, and a lookup by hash stays an index seek.
"""

from __future__ import annotations

import hashlib
import hmac

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when a user does not exist, so that the answer takes as long as a real check.
_DUMMY_HASH = _hasher.hash("posfleet-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def hash_password_async(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; ``None`` (no such user) costs the same and answers False."""
    return await anyio.to_thread.run_sync(_verify, password_hash, password)


class SecretHasher:
    """Keyed hash of codes and tokens."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"posfleet-secret-hash\x00" + key).digest()

    def hash(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def matches(self, value: str, expected_hash: str) -> bool:
        return hmac.compare_digest(self.hash(value), expected_hash)
