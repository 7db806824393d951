"""Sealing short secrets at rest: AES-256-GCM with a key derived from the server secret.

For what must be read back (a code waiting in the outbox, a webhook signing secret), where a
hash will not do.  Each purpose derives its own key (HKDF ``info``), so a value sealed for one
purpose does not open as another.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


class Sealer:
    def __init__(self, secret: bytes, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"posfleet:" + purpose.encode()
        ).derive(secret)
        self._aead = AESGCM(key)

    def seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain, None)

    def open(self, sealed: bytes) -> bytes:
        """The plain bytes; raises ``cryptography.exceptions.InvalidTag`` if tampered with."""
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], None)
