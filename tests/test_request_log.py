"""One log line per request, findable by the logId of an error body, with no secrets in it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.runtime import Runtime
from tests.flow.device.support import PASSWORD, link_body, world
from tests.support.server import running_posfleet


def _lines(workdir: Path) -> list[dict[str, Any]]:
    lines = []
    for path in workdir.glob("posfleet-*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
    return [line for line in lines if line.get("event") == "request"]


async def test_every_request_has_one_line_with_its_log_id_route_status_and_tenant(
    make_settings: Callable[..., Settings],
    session: AsyncSession,
    runtime: Runtime,
    tmp_path: Path,
) -> None:
    w = await world(session, runtime)
    settings = make_settings(log_level="info", log_json=True, rate_limit_per_address=1000)
    with running_posfleet(settings, tmp_path) as base:
        async with httpx.AsyncClient(base_url=base) as c:
            unknown = await c.post("/v2/device/WXYZ-WXYZ/link", json=link_body(w))
            linked = await c.post(f"/v2/device/{w.code}/link", json=link_body(w))
            token = linked.json()["token"]
            info = await c.get("/v2/device", headers={"Authorization": f"Bearer {token}"})
            # Answered from the rows kept by the first (flow/device_fast.py), logged the same way.
            again = await c.get("/v2/device", headers={"Authorization": f"Bearer {token}"})
            refresh = {"appId": w.app.app_id, "refreshToken": linked.json()["refreshToken"]}
            refreshed = await c.post("/v2/device/token", json=refresh)
            admin = await c.get(f"/v2/tenants/{w.tenant.uid}/devices")
    assert (unknown.status_code, linked.status_code, info.status_code) == (404, 200, 200)
    assert (again.status_code, refreshed.status_code) == (200, 200)
    assert admin.status_code == 401

    lines = _lines(tmp_path)
    by_id = {line["logId"]: line for line in lines}
    assert len(by_id) == len(lines)  # one line per request

    refused = by_id[unknown.json()["logId"]]
    assert refused["method"] == "POST"
    assert refused["route"] == "/v2/device/{deviceCode}/link"
    assert refused["status"] == 404
    assert refused["duration_ms"] >= 0
    for response in (info, again):
        seen = by_id[response.headers["x-log-id"]]
        assert (seen["route"], seen["status"], seen["tenant"]) == ("/v2/device", 200, w.tenant.uid)
        assert seen["log_id"] == seen["logId"]
    assert by_id[refreshed.headers["x-log-id"]]["route"] == "/v2/device/token"
    assert by_id[admin.json()["logId"]]["tenant"] == w.tenant.uid

    text = "\n".join(json.dumps(line) for line in lines)
    for secret in ("WXYZ", w.code, PASSWORD, token, linked.json()["refreshToken"], refreshed.text):
        assert secret not in text
