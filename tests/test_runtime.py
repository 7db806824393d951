"""What every process does on its own timer."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest

from posfleet.config import Settings
from posfleet.errors import Unauthorized
from posfleet.kit.jwt import TokenType
from posfleet.runtime import GC_YOUNG_THRESHOLD, Runtime, freeze_startup_objects
from posfleet.tokens import keys


async def test_housekeeping_takes_up_a_key_rotated_elsewhere(runtime: Runtime) -> None:
    """Another replica (or the CLI) rotates; this process signs with the new key after a round."""
    before = runtime.codec.signing_key.kid
    async with runtime.sessionmaker() as session:
        rotated = await keys.rotate(session, runtime.secret, runtime.settings.jwt_algorithm)
        await session.commit()
    assert runtime.codec.signing_key.kid == before
    await runtime.housekeeping()
    assert runtime.codec.signing_key.kid == rotated.kid
    assert before in runtime.codec.keys  # tokens it signed still verify


async def test_a_token_signed_by_a_key_rotated_elsewhere_is_accepted(
    runtime: Runtime, make_settings: Callable[..., Settings]
) -> None:
    other = Runtime.create(make_settings())
    try:
        async with other.sessionmaker() as session:
            await keys.rotate(session, other.secret, other.settings.jwt_algorithm)
            await session.commit()
        await other.load_signing_keys()
        token, _ = other.codec.encode(TokenType.AUTH, {"sub": "someone"}, timedelta(minutes=1))
    finally:
        await other.close()
    runtime.keys_loaded_at = 0.0  # this process last loaded its keys long ago
    claims = await runtime.decode_token(token, TokenType.AUTH)
    assert claims["sub"] == "someone"


async def test_made_up_key_ids_do_not_make_a_reload_each(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloads = 0
    real_reload = Runtime.reload_signing_keys

    async def counting_reload(self: Runtime) -> None:
        nonlocal reloads
        reloads += 1
        await real_reload(self)

    monkeypatch.setattr(Runtime, "reload_signing_keys", counting_reload)
    runtime.keys_loaded_at = 0.0
    for n in range(5):
        forged = jwt.encode(
            {"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": f"made-up-{n}"}
        )
        with pytest.raises(Unauthorized):
            await runtime.decode_token(forged, TokenType.AUTH)
    assert reloads == 1


async def test_a_verified_token_is_refused_once_it_expires(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims kept after the first verification are still checked for expiry on each use."""
    token, expires = runtime.codec.encode(TokenType.AUTH, {"sub": "someone"}, timedelta(hours=1))
    assert (await runtime.decode_token(token, TokenType.AUTH))["sub"] == "someone"
    assert token in runtime.claims_cache._entries
    monkeypatch.setattr("posfleet.runtime.utcnow", lambda: expires + timedelta(seconds=6))
    with pytest.raises(Unauthorized) as refused:
        await runtime.decode_token(token, TokenType.AUTH)
    assert refused.value.code == "token_expired"


async def test_a_verified_token_of_the_wrong_type_is_still_refused(runtime: Runtime) -> None:
    token, _ = runtime.codec.encode(TokenType.AUTH, {"sub": "someone"}, timedelta(hours=1))
    await runtime.decode_token(token, TokenType.AUTH)
    with pytest.raises(Unauthorized):
        await runtime.decode_token(token, TokenType.DEVICE)


def test_after_start_up_young_collections_wait_for_many_allocations() -> None:
    """After start-up a young-generation collection waits for ``GC_YOUNG_THRESHOLD`` net
    allocations, not Python's 700; the older generations keep Python's defaults."""
    freeze_startup_objects()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
