"""One input rule for both dialects: a NUL character in any request body is a 400."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import httpx
from pydantic import BaseModel

import posfleet
from posfleet.kit.input import InputModel
from tests.commerce.conftest import World


async def test_a_nul_in_a_commerce_body_is_400_in_the_commerce_shape(
    client: httpx.AsyncClient, world: World
) -> None:
    """On PostgreSQL this was a 500: text columns cannot hold NUL."""
    bodies = {
        "pos/auth/login/email": {"location_id": world.store.uid, "email": "a\u0000b@example.com"},
        "pos/auth/login/phone": {"location_id": world.store.uid, "phone": "9123\u00004567"},
        "pos/auth/pair-device": {"pairing_code": "ABCD\u0000EFGH"},
        "pos/auth/verify-otp": {"otp": "123456", "otp_token": "otp_\u0000", "otp_action": "login"},
        "pos/auth/refresh-token": {"refresh_token": "x\u0000y"},
    }
    for path, body in bodies.items():
        response = await client.post(f"{world.base}/{path}", json=body, headers=world.key_headers)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["success"] is False
        assert "NUL" in response.json()["message"]


async def test_a_nul_in_a_flow_body_is_400_in_the_flow_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login", json={"userCode": "a\u0000", "password": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "logId"}


def test_every_request_body_model_derives_from_the_shared_input_base() -> None:
    """A request model of any dialect that forgot the base would let NUL through again."""
    forgotten = []
    for module_info in pkgutil.walk_packages(posfleet.__path__, "posfleet."):
        if ".migrations" in module_info.name:
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
                and name.endswith("Request")
                and not issubclass(value, InputModel)
            ):
                forgotten.append(f"{module.__name__}.{name}")
    assert forgotten == []


async def test_a_nul_in_a_path_or_query_is_400_in_the_dialect_shape(
    client: httpx.AsyncClient, world: World
) -> None:
    flow = await client.get("/v2/tenants/x/devices?name=a%00b")
    assert flow.status_code == 400
    assert set(flow.json()) == {"code", "message", "logId"}
    commerce = await client.get(f"{world.base}/pos/locations?x=%00", headers=world.key_headers)
    assert commerce.status_code == 400
    assert commerce.json()["success"] is False
