"""The server secrets: the newest signs and encrypts, every listed one still verifies.

``POSFLEET_SECRET_KEY`` is the current secret; ``POSFLEET_PREVIOUS_SECRET_KEYS`` lists the
secrets it replaced (newest first) that must keep working until everything made under them is
re-encrypted or has aged out.  Each secret is named by a short *key id* derived from it one way
(it reveals nothing of the secret), and every stored HMAC or ciphertext records the key id it
was made under, so a reader knows which secret to use and ``posfleet secrets status`` can count
what still depends on an old one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.orm import QueryableAttribute

KEY_ID_LENGTH = 12  # hex characters: 48 bits, plenty to tell a deployment's few secrets apart


def key_id(secret: bytes) -> str:
    """The id of ``secret``: stable, short, and useless for guessing the secret."""
    return hmac.new(secret, b"posfleet key id", hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


@dataclass(frozen=True, slots=True)
class ServerSecrets:
    """The live secrets, newest first, with their key ids."""

    secrets: tuple[bytes, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, secrets: Iterable[bytes]) -> ServerSecrets:
        unique: dict[str, bytes] = {}
        for secret in secrets:
            if not secret:
                raise ValueError("a server secret may not be empty")
            unique.setdefault(key_id(secret), secret)
        if not unique:
            raise ValueError("at least one server secret is needed")
        return cls(tuple(unique.values()), tuple(unique))

    @property
    def current(self) -> bytes:
        return self.secrets[0]

    @property
    def current_id(self) -> str:
        return self.ids[0]

    def by_id(self, wanted: str) -> bytes | None:
        """The secret with key id ``wanted``; None when it is not (or no longer) listed."""
        for kid, secret in zip(self.ids, self.secrets, strict=True):
            if kid == wanted:
                return secret
        return None

    def items(self) -> list[tuple[str, bytes]]:
        return list(zip(self.ids, self.secrets, strict=True))


def hash_is_any(column: QueryableAttribute[str], hashes: Sequence[str]) -> ColumnElement[bool]:
    """``column`` equals one of ``hashes`` (a presented secret's HMAC under each live server
    secret): one indexed lookup, ``=`` while a single secret is listed and ``IN`` otherwise."""
    if len(hashes) == 1:
        return column == hashes[0]
    return column.in_(hashes)
