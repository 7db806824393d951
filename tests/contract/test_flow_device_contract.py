"""The Flow device operations against the shared OpenAPI contract, over real HTTP.

A uvicorn server on loopback serves a database holding a linked device; schemathesis generates
valid and invalid requests for every device operation of the spec and checks that none is
answered with a 5xx and that every documented answer matches its schema.  The admin operations
are not part of this test; the device flow's bodies are also checked one by one, status by
status, in ``test_device_flow_contract.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.runtime import Runtime
from tests.contract import FLOW_SPEC
from tests.flow.device.support import link, world
from tests.support.server import running_posfleet

SPEC = FLOW_SPEC
DEVICE_OPERATIONS = {
    ("GET", "/device"),
    ("PUT", "/device"),
    ("POST", "/device"),
    ("POST", "/device/authorize"),
    ("POST", "/device/{deviceCode}/link"),
    ("POST", "/device/token"),
    ("GET", "/device/users"),
}
EXAMPLES_PER_MODE = 25


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """The in-process client links once; a budget of its own keeps other tests' links out."""
    return make_settings(rate_limit_per_address=1_000_000)


def _check_operation(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base: str,
    device_token: str,
    failures: list[str],
) -> int:
    """Run generated cases of one operation; returns how many requests were sent."""
    sent = 0

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), use_token=st.booleans())
    def check(case: schemathesis.Case, use_token: bool) -> None:
        nonlocal sent
        headers = {"Authorization": f"Bearer {device_token}"} if use_token else {}
        response = case.call(base_url=f"{base}/v2", headers=headers, timeout=30)
        sent += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    try:
        check()
    except Exception as exc:  # every operation runs; all failures are reported together
        failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return sent


def _run_operations(base: str, device_token: str) -> tuple[list[str], dict[str, int]]:
    schema = schemathesis.openapi.from_path(SPEC)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[str] = []
    sent: dict[str, int] = {}
    for operation in operations:
        if (operation.method.upper(), operation.path) not in DEVICE_OPERATIONS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count = _check_operation(operation, mode, base, device_token, failures)
            sent[operation.label] = sent.get(operation.label, 0) + count
    return failures, sent


async def test_device_operations_honour_the_flow_contract(
    settings: Settings,
    session: AsyncSession,
    runtime: Runtime,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    assert SPEC.exists(), f"the Flow contract is not at {SPEC}"
    w = await world(session, runtime)
    linked = await link(client, w)
    unlimited = settings.model_copy(update={"login_rate_limit_per_address": 1_000_000})
    with running_posfleet(unlimited, tmp_path) as base:
        started = time.monotonic()
        failures, sent = await asyncio.to_thread(_run_operations, base, linked["token"])
        assert time.monotonic() - started < 120
    assert failures == []
    assert len(sent) == len(DEVICE_OPERATIONS)
    assert all(count > 0 for count in sent.values()), sent
