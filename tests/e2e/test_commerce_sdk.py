"""The published ``@commercengine/pos`` SDK, unmodified, against posfleet over real HTTP.

The SDK is configured only with ``baseUrl``, ``storeId`` and ``apiKey`` (plus its own
``MemoryTokenStorage``, without which it does not refresh tokens itself).  uvicorn serves
posfleet on a free loopback port; the pairing code reaches the test through a real SMTP server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from posfleet.config import Settings
from posfleet.models.enums import DeliveryChannel
from posfleet.runtime import Runtime
from tests.commerce.conftest import World, send_pairing_code
from tests.commerce.receivers import SmtpReceiver
from tests.support.server import running_posfleet

SDK_DIR = Path(__file__).parent / "sdk"


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """posfleet under uvicorn on a free loopback port, with 5-second access tokens; the SDK
    journey asks for its OTP with x-debug-mode."""
    short_lived = settings.model_copy(
        update={"pos_access_token_ttl_seconds": 5, "debug_otp_reveal": True}
    )
    with running_posfleet(short_lived, tmp_path) as base:
        yield base


def _run_sdk(env: dict[str, str]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed (scripts/bootstrap --test installs it)")
    if not (SDK_DIR / "node_modules" / "@commercengine" / "pos").is_dir():
        pytest.fail("the SDK is not installed: run `npm ci` in tests/e2e/sdk (scripts/bootstrap)")
    result = subprocess.run(
        [node, "pos-journey.mjs"],
        cwd=SDK_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


async def test_the_published_sdk_pairs_signs_in_claims_refreshes_and_logs_out(
    server: str,
    world: World,
    smtp: SmtpReceiver,
    runtime: Runtime,
    make_settings: Callable[..., Settings],
) -> None:
    await send_pairing_code(runtime, world, world.mail("sdk"), DeliveryChannel.EMAIL)
    # On a thread: this test's own event loop keeps running while the SDK runs, so that work
    # this process started (its outbox worker sending the pairing mail and recording that it
    # did) can commit; a blocked loop would leave that unit of work holding SQLite's write lock
    # and the server's writes would wait for it until SQLite gave up ("database is locked").
    steps = await asyncio.to_thread(
        _run_sdk,
        {
            "POSFLEET_BASE_URL": f"{server}{world.base}",
            "STORE_ID": world.tenant.uid,
            "API_KEY": world.api_key,
            "PAIRING_CODE": await smtp.pairing_code(world.mail("sdk")),
            "LOCATION_ID": world.store.uid,
            "EMAIL": world.cashier.email,
        },
    )
    by_step = {s["step"]: s for s in steps}
    print("\n".join(json.dumps(s) for s in steps))  # shown with -s: the SDK's own view

    for name in (
        "pairDevice",
        "listLocations",
        "loginWithEmail",
        "verifyOtp",
        "getUserInfo",
        "listDevices",
        "claimDevice",
        "getUser",
        "automaticRefresh",
        "unclaimDevice",
        "logout",
    ):
        assert by_step[name]["ok"], by_step[name]
    assert by_step["pairDevice"]["device"]["id"] == world.device.uid
    assert world.store.uid in by_step["listLocations"]["locations"]
    assert by_step["loginWithEmail"]["has_otp"] is True
    assert by_step["verifyOtp"]["user"]["id"] == world.cashier.uid
    info = by_step["getUserInfo"]["info"]
    assert info["id"] == world.cashier.uid
    assert info["tenantId"] == world.tenant.uid
    assert info["location"] == {"id": world.store.uid, "name": "Main Street"}
    assert info["isLoggedIn"] is True
    assert by_step["listDevices"]["devices"] == [{"id": world.device.uid, "status": "available"}]
    assert by_step["claimDevice"]["device"] == {"id": world.device.uid, "name": "Front till"}
    assert by_step["getUser"]["device"] == {"id": world.device.uid, "name": "Front till"}
    assert by_step["automaticRefresh"]["token_updates"] > 1
    assert by_step["unclaimDevice"]["device"] is None
    assert by_step["logout"]["tokens_cleared"] == 1
    after = by_step["listDevicesAfterLogout"]
    assert after["ok"] is False
    assert after["status"] == 401
    replay = by_step["oldTokenAfterLogout"]
    assert replay["status"] == 401
    assert replay["body"]["code"] == "session_ended"
