"""What every process does on its own timer."""

from __future__ import annotations

from posfleet.runtime import Runtime
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
