"""Password hashing: the chosen argon2id parameters, old hashes, and the bounded check pool."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest
from argon2 import PasswordHasher

from posfleet.errors import TooManyRequests
from posfleet.kit import hashing

OLD_DEFAULTS = PasswordHasher()  # argon2-cffi's default (RFC 9106 low-memory: m=64 MiB, t=3, p=4)


def test_new_hashes_use_owasps_argon2id_minimum() -> None:
    assert hashing.hash_password("pw").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_a_hash_made_with_older_parameters_still_verifies_and_needs_a_rehash() -> None:
    old = OLD_DEFAULTS.hash("correct horse")
    assert await hashing.verify_password(old, "correct horse")
    assert not await hashing.verify_password(old, "wrong horse")
    assert hashing.password_needs_rehash(old)
    assert not hashing.password_needs_rehash(hashing.hash_password("correct horse"))


async def test_a_check_beyond_the_waiting_queue_is_refused_with_retry_after() -> None:
    good = hashing.hash_password("pw")
    pool = hashing._hash_limiter()
    # Every token is held here, so every check queues behind them: no race with real checks.
    borrowers = [object() for _ in range(pool.total_tokens)]
    for borrower in borrowers:
        await pool.acquire_on_behalf_of(borrower)
    try:
        queued = [
            asyncio.create_task(hashing.verify_password(good, "pw"))
            for _ in range(hashing.MAX_WAITING_HASHES)
        ]
        await asyncio.sleep(0.05)
        assert hashing.hashing_busy()
        with pytest.raises(TooManyRequests) as refused:
            await hashing.verify_password(good, "pw")
        assert refused.value.headers["Retry-After"] == str(hashing.RETRY_AFTER_SECONDS)
        with pytest.raises(TooManyRequests):
            await hashing.verify_password(None, "pw")  # unknown users are refused alike
    finally:
        for borrower in borrowers:
            pool.release_on_behalf_of(borrower)
    assert all(await asyncio.gather(*queued))
    assert not hashing.hashing_busy()


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are a Linux feature")
async def test_password_checks_run_on_threads_of_lower_priority_than_the_event_loop() -> None:
    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    loop_niceness = own_niceness()
    hashing_niceness = await hashing._run(own_niceness)
    assert hashing_niceness == min(19, loop_niceness + hashing.HASHING_NICENESS)
