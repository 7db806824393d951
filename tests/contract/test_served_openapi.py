"""The OpenAPI document posfleet serves tells the truth: schemathesis, with all its checks and
positive and negative data, finds nothing against a real server on either engine."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from posfleet.config import Settings
from tests.support.server import running_posfleet

EXAMPLES_PER_MODE = 6
# The Flow contract answers a well-formed but unknown refresh token 400 (OAuth's invalid_grant),
# and a device registration naming a clientId nobody registered 400 (unknown_client): both
# would look to schemathesis like schema-valid data refused.
KNOWN_400_FOR_VALID_DATA = {("POST", "/v2/device/token"), ("POST", "/v2/device")}


def _run(base: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        excluded = (
            [positive_data_acceptance]
            if (operation.method.upper(), operation.path) in KNOWN_400_FOR_VALID_DATA
            else []
        )
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            check = _checker(operation, mode, base, excluded)
            try:
                sent += check()
            except Unsatisfiable:
                pass  # no negative data exists for an operation without input
            except BaseException as exc:  # every operation runs; all failures are reported
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures, sent


def _checker(
    operation: schemathesis.APIOperation, mode: GenerationMode, base: str, excluded: list[Any]
) -> Callable[[], int]:
    """Generated cases of one operation, each checked with every check schemathesis has."""
    sent = 0

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(base_url=base, timeout=30, excluded_checks=excluded)

    def run() -> int:
        check()
        return sent

    return run


@pytest.mark.timeout(600)  # hundreds of generated requests; slow beside the other workers
async def test_schemathesis_finds_nothing_against_the_served_document(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        rate_limit_per_address=1_000_000, login_rate_limit_per_address=1_000_000
    )
    with running_posfleet(settings, tmp_path) as base:
        failures, sent = await asyncio.to_thread(_run, base)
    assert failures == []
    assert sent > 100


async def test_no_operation_advertises_a_422_and_every_error_has_its_dialect_shape(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        shape = "CommerceError" if path.startswith("/api/v1/") else "FlowError"
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert "422" not in statuses, (method, path)
            for status in sorted(s for s in statuses if s.startswith("4")):
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": f"#/components/schemas/{shape}"}, (method, path, status)
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)
