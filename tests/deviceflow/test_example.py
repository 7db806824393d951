"""``examples/device_flow.py`` runs the whole flow against the demo over real HTTP, and the
quickstart's ``posfleet client create`` sets up a client whose devices register."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from posfleet.app import create_app
from posfleet.config import Environment, Settings
from tests.conftest import TEST_SECRET
from tests.support.cli import empty_database, posfleet
from tests.support.clients import asgi_transport
from tests.support.postgres import PostgresServer
from tests.support.server import running_posfleet

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "device_flow.py"


def _approve(base: str, flow: dict[str, object], code: str) -> None:
    """What the person at the back office does, through the API as the demo's admin."""
    admin = flow["admin"]
    assert isinstance(admin, dict)
    with httpx.Client(base_url=base) as api:
        signed_in = api.post(
            "/auth/login",
            json={
                "userCode": admin["userCode"],
                "password": admin["password"],
                "tenantUid": flow["tenantUid"],
            },
        )
        assert signed_in.status_code == 200, signed_in.text
        approved = api.post(
            "/v2/device/authorize",
            json={
                "deviceCode": code,
                "tenantUid": flow["tenantUid"],
                "storeUid": flow["storeUid"],
                "tillUid": flow["tillUid"],
            },
            headers={"Authorization": f"Bearer {signed_in.json()['authToken']}"},
        )
        assert approved.status_code == 200, approved.text


def test_the_example_device_joins_the_demo_and_later_renews_its_token(
    backend: str, pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = empty_database(backend, pg_server, tmp_path)
    assert posfleet(url, "db", "upgrade").exit_code == 0
    assert posfleet(url, "demo", "--manifest", str(tmp_path / "m.json")).exit_code == 0
    flow = json.loads((tmp_path / "m.json").read_text())["flow"]
    settings = Settings(
        database_url=url,
        environment=Environment.TEST,
        secret_key=TEST_SECRET,
        log_level="warning",
        device_flow_interval_seconds=1,
    )
    state = tmp_path / "till.json"
    command = [sys.executable, str(SCRIPT), "--name", "Kasse 9", "--state", str(state)]
    with running_posfleet(settings, tmp_path) as base:
        device = subprocess.Popen(
            [*command, "--base", base, "--client-id", flow["clientId"]],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert device.stdout is not None
        first = device.stdout.readline()
        assert first.startswith("Device code: "), first
        code = first.removeprefix("Device code: ").strip()
        assert f"/device?code={code}" in device.stdout.readline()
        _approve(base, flow, code)
        out, _ = device.communicate(timeout=60)
        assert device.returncode == 0, out
        assert "Authorized: Kasse 9" in out
        assert "till " in out

        again = subprocess.run(
            [*command, "--base", base, "--client-id", flow["clientId"]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Known device" in again.stdout
    assert "Authorized: Kasse 9" in again.stdout


async def test_the_quickstarts_client_create_lets_devices_register(
    backend: str, pg_server: PostgresServer | None, tmp_path: Path
) -> None:
    url = empty_database(backend, pg_server, tmp_path)
    # The command line runs its own event loop: off this test's loop.
    assert (await asyncio.to_thread(posfleet, url, "db", "upgrade")).exit_code == 0
    created = await asyncio.to_thread(posfleet, url, "client", "create", "flow-retail-pos-legacy")
    assert created.exit_code == 0, created.output
    settings = Settings(
        database_url=url, environment=Environment.TEST, secret_key=TEST_SECRET, log_level="warning"
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=asgi_transport(app), base_url="http://t") as device,
    ):
        registered = await device.post("/v2/device", json={"clientId": "flow-retail-pos-legacy"})
        assert registered.status_code == 200, registered.text
        pending = await device.post(
            "/v2/device/token",
            json={
                "clientId": "flow-retail-pos-legacy",
                "deviceIdentifier": registered.json()["deviceIdentifier"],
            },
        )
    assert pending.json()["error"] == "authorization_pending"
