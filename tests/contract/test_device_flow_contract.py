"""Every body of the device flow against the shared Flow contract, on both engines.

``POST /v2/device`` (200), ``POST /v2/device/authorize`` (400) and ``POST /v2/device/token`` in
both forms, for every status the device flow answers (200, authorization_pending, slow_down,
access_denied, expired_token), each validated against the response schema the spec documents
for that operation and status code.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import httpx
import jsonschema_rs
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.clock import utcnow
from posfleet.models.enums import GrantState
from posfleet.runtime import Runtime
from tests.contract import FLOW_SPEC
from tests.deviceflow.support import authorize, change_grant, flow_world, poll, register
from tests.flow.device.support import link

SPEC = FLOW_SPEC


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC.read_text())
    return spec


def _response_schema(path: str, status: int) -> dict[str, Any]:
    spec = _spec()
    response = spec["paths"][path]["post"]["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def assert_conforms(path: str, response: httpx.Response) -> None:
    """The body is what the spec documents for ``path`` and this status code."""
    root = {**_spec(), **_response_schema(path, response.status_code)}
    validator = jsonschema_rs.Draft4Validator(root)
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(response.json())]
    assert errors == [], (path, response.status_code, response.text)


async def test_every_device_flow_body_matches_the_contract(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    fw = await flow_world(session, runtime)
    registered_response = await client.post(
        "/v2/device", json={"clientId": fw.client.client_id, "name": None}
    )
    assert registered_response.status_code == 200
    assert_conforms("/device", registered_response)
    registered = registered_response.json()
    identifier = registered["deviceIdentifier"]
    statuses: set[str] = set()

    pending = await poll(client, fw, identifier)
    slow = await poll(client, fw, identifier)
    for refusal in (pending, slow):
        assert refusal.status_code == 400
        assert_conforms("/device/token", refusal)
        statuses.add(refusal.json()["error"])

    unknown = await authorize(client, fw, "AAAA-AAAA")
    assert unknown.status_code == 400
    assert_conforms("/device/authorize", unknown)
    approved = await authorize(client, fw, registered["deviceCode"])
    assert approved.status_code == 200
    assert approved.content == b""  # documented as 200 "OK" without a body

    await change_grant(runtime, identifier, last_polled_at=None)
    token = await poll(client, fw, identifier)
    assert token.status_code == 200
    assert_conforms("/device/token", token)

    denied = (await register(client, fw))["deviceIdentifier"]
    await change_grant(runtime, denied, state=GrantState.DENIED)
    expired = (await register(client, fw))["deviceIdentifier"]
    await change_grant(runtime, expired, expires_at=utcnow())
    for refused in (await poll(client, fw, denied), await poll(client, fw, expired)):
        assert refused.status_code == 400
        assert_conforms("/device/token", refused)
        statuses.add(refused.json()["error"])
    assert statuses == {"authorization_pending", "slow_down", "access_denied", "expired_token"}

    refresh_token = (await link(client, fw.w))["refreshToken"]
    refreshed = await client.post(
        "/v2/device/token", json={"appId": fw.w.app.app_id, "refreshToken": refresh_token}
    )
    assert refreshed.status_code == 200
    assert_conforms("/device/token", refreshed)
    bad_refresh = await client.post(
        "/v2/device/token", json={"appId": fw.w.app.app_id, "refreshToken": "pfr_nothing"}
    )
    assert bad_refresh.status_code == 400
    assert_conforms("/device/token", bad_refresh)
