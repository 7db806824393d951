"""Hashes for every stored secret.

* Passwords and PINs: argon2id, verified off the event loop in a bounded pool.
* Codes and high-entropy tokens: HMAC-SHA256 keyed with the server secret, so a stolen database
  cannot be used to test guesses offline, and a lookup by hash stays an index seek.

Argon2id parameters are OWASP's Password Storage Cheat Sheet minimum for argon2id (m=19 MiB,
t=2, p=1), not argon2-cffi's default (RFC 9106's "low memory" choice, m=64 MiB, t=3, p=4): that
one costs ~8x the CPU per check and p=4 runs four threads per check, so a burst of links on a
small server would take every core from the requests that do no hashing.  A hash records its own
parameters, so hashes made with older ones keep verifying; :func:`password_needs_rehash` says
when a successful check should store a new hash.

Checks run at most ``MAX_CONCURRENT_HASHES`` at a time (fewer than the cores, so the event loop
always has one), on dedicated threads of lower scheduling priority; when ``MAX_WAITING_HASHES``
callers already wait, a new one is refused at once with 429 and ``Retry-After`` instead of
queueing behind them.  The refusal happens before any hashing, whether the user exists or not,
so it tells nothing about the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from posfleet.errors import ServerBusy
from posfleet.kit.keyring import ServerSecrets

# OWASP Password Storage Cheat Sheet, argon2id: "minimum configuration of 19 MiB of memory, an
# iteration count of 2, and 1 degree of parallelism".
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1

MAX_CONCURRENT_HASHES = max(1, (os.cpu_count() or 2) - 1)
# Hashing threads run at a lower scheduling priority (Linux: per thread), so that when the cores
# are contended the event loop and the database win and password checks wait, not the reverse.
HASHING_NICENESS = 10
# A caller waiting here holds its request's database connection: a long queue would take the
# pool from requests that do no hashing.  A few checks' worth of waiting (~0.1-0.2 s) is enough.
MAX_WAITING_HASHES = 4 * MAX_CONCURRENT_HASHES
RETRY_AFTER_SECONDS = 1

_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
)
# Verified against when a user does not exist, so that the answer takes as long as a real check.
_DUMMY_HASH = _hasher.hash("posfleet-no-such-user")
_limiter: anyio.CapacityLimiter | None = None
T = TypeVar("T")


def _lower_priority() -> None:
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: run as is
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_threads = ThreadPoolExecutor(
    MAX_CONCURRENT_HASHES, thread_name_prefix="posfleet-hash", initializer=_lower_priority
)


def _hash_limiter() -> anyio.CapacityLimiter:
    global _limiter  # one pool per process, made on first use inside the running loop
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(MAX_CONCURRENT_HASHES)
    return _limiter


def hashing_busy() -> bool:
    """True when a new password check would be refused rather than queued."""
    return _hash_limiter().statistics().tasks_waiting >= MAX_WAITING_HASHES


def password_check_load() -> tuple[int, int]:
    """Password checks running and waiting in this process (for ``/metrics``)."""
    statistics = _hash_limiter().statistics()
    return int(statistics.borrowed_tokens), statistics.tasks_waiting


def refuse_when_busy() -> None:
    """429 ``server_busy`` now when a password check would be refused: callers that will check
    a password call it before their other work, so that a shed request costs next to nothing."""
    if hashing_busy():
        raise ServerBusy(
            "The server is busy checking passwords; try again in a moment",
            retry_after=RETRY_AFTER_SECONDS,
        )


async def _run(work: Callable[..., T], *args: object) -> T:
    """``work(*args)`` on a hashing thread; 429 when too many callers already wait."""
    refuse_when_busy()
    async with _hash_limiter():
        return await asyncio.get_running_loop().run_in_executor(_threads, work, *args)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def hash_password_async(password: str) -> str:
    return await _run(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; ``None`` (no such user) costs the same and answers False.

    Raises :class:`~posfleet.errors.ServerBusy` (429) when too many checks are already waiting.
    """
    return await _run(_verify, password_hash, password)


def password_needs_rehash(password_hash: str) -> bool:
    """True when ``password_hash`` was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


class SecretHasher:
    """Keyed hash of codes and tokens under every live server secret.

    New hashes use the newest secret (:attr:`key_id` names it, and is stored with the hash);
    :meth:`hashes` gives the hash under each live secret, newest first, so that looking a
    presented code up stays one indexed ``IN`` query while older secrets are still listed.  The
    keyed HMAC state of each secret is made once, so a hash costs a copy and one update.
    """

    def __init__(self, secrets: ServerSecrets) -> None:
        self._macs = [
            (kid, hmac.new(_hash_key(secret), digestmod=hashlib.sha256))
            for kid, secret in secrets.items()
        ]
        self._by_id = dict(self._macs)
        self.key_id = secrets.current_id

    def hash(self, value: str) -> str:
        """The hash under the newest secret."""
        mac = self._macs[0][1].copy()
        mac.update(value.encode())
        return mac.hexdigest()

    def hashes(self, value: str) -> list[str]:
        """The hash under each live secret, newest first."""
        encoded = value.encode()
        result = []
        for _kid, template in self._macs:
            mac = template.copy()
            mac.update(encoded)
            result.append(mac.hexdigest())
        return result

    def hash_with(self, value: str, key_id: str) -> str | None:
        """The hash under the secret ``key_id`` names; None when that secret is not live."""
        template = self._by_id.get(key_id)
        if template is None:
            return None
        mac = template.copy()
        mac.update(value.encode())
        return mac.hexdigest()

    def matches(self, value: str, expected_hash: str, key_id: str | None = None) -> bool:
        """Whether ``value`` hashes to ``expected_hash`` under ``key_id``'s secret (False when
        that secret is no longer live), or with no ``key_id`` under any live secret."""
        if key_id is None:
            found = False
            for candidate in self.hashes(value):  # every one compared: constant work
                found |= hmac.compare_digest(candidate, expected_hash)
            return found
        actual = self.hash_with(value, key_id)
        return actual is not None and hmac.compare_digest(actual, expected_hash)


def _hash_key(secret: bytes) -> bytes:
    return hashlib.sha256(b"posfleet-secret-hash\x00" + secret).digest()
