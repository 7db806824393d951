"""Sealing short secrets at rest: AES-256-GCM with a key derived from the server secret.

For what must be read back (a code waiting in the outbox, a webhook signing secret), where a
hash will not do.  Each purpose derives its own key (HKDF ``info``), so a value sealed for one
purpose does not open as another.  Sealing uses the newest server secret and answers its key id,
which the caller stores next to the sealed bytes; opening uses the secret that id names, as
long as it is still listed (``posfleet secrets reencrypt`` moves everything to the newest).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from posfleet.kit.keyring import ServerSecrets

_NONCE = 12


class RetiredSecret(ValueError):
    """The value was sealed under a server secret that is no longer listed."""


def _aead(secret: bytes, purpose: str) -> AESGCM:
    info = b"posfleet:" + purpose.encode()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret))


def _seal(aead: AESGCM, plain: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + aead.encrypt(nonce, plain, None)


def resealing(purpose: str) -> Callable[[bytes, bytes, bytes, object], bytes]:
    """For :class:`~posfleet.kit.resealing.Resealer`: open a value sealed for ``purpose`` under
    an old secret and seal it under the new one."""

    def reseal(sealed: bytes, old: bytes, new: bytes, _row: object) -> bytes:
        plain = _aead(old, purpose).decrypt(sealed[:_NONCE], sealed[_NONCE:], None)
        return _seal(_aead(new, purpose), plain)

    return reseal


class Sealer:
    def __init__(self, secrets: ServerSecrets, purpose: str) -> None:
        self._aeads = {kid: _aead(secret, purpose) for kid, secret in secrets.items()}
        self.key_id = secrets.current_id

    def seal(self, plain: bytes) -> bytes:
        """``plain`` sealed under the newest secret (whose id is :attr:`key_id`)."""
        return _seal(self._aeads[self.key_id], plain)

    def open(self, sealed: bytes, key_id: str) -> bytes:
        """The plain bytes; raises :class:`RetiredSecret` when ``key_id``'s secret is no longer
        listed and ``cryptography.exceptions.InvalidTag`` if tampered with."""
        aead = self._aeads.get(key_id)
        if aead is None:
            raise RetiredSecret(f"sealed under retired server secret {key_id}")
        return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], None)
