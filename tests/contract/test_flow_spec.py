"""The running app against the Flow v2 spec (``tests/contract/data``), with schemathesis.

Every operation in :data:`OPERATIONS` gets generated requests, valid and invalid, against a real
server on loopback; none may answer 5xx, and every documented answer must match its schema.
To cover another operation, add its ``operationId`` with the kind of token it needs and, if its
path has parameters, what to fill them with (:func:`path_parameters`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from posfleet.config import Settings
from posfleet.models.enums import AppCode
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.conftest import settings_for
from tests.contract import FLOW_SPEC
from tests.support.server import running_posfleet

SPEC = FLOW_SPEC
# operationId -> the token it is called with.
OPERATIONS = {
    "get-tenants-devices": "admin",
    "post-tenants-devices": "admin",
    "post-search-tenants-devices": "admin",
    "get-tenants-devices-details": "admin",
    "put-tenants-device-details": "admin",
    "delete-tenants-device": "admin",
}
MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class World:
    """What the generated requests act on: a tenant, its admin's token, a device to change."""

    base_url: str
    tenant_uid: str
    tokens: dict[str, str]
    new_device: Callable[[], str]


async def _arrange(settings: Settings) -> tuple[str, str]:
    runtime = Runtime.create(settings)
    try:
        await runtime.load_signing_keys()
        async with runtime.sessionmaker() as session:
            tenant = await factories.tenant(session)
            store = await factories.store(session, tenant)
            await factories.till(session, store)
            await factories.printer(session, tenant)
            user = await factories.user(session, tenant, permissions=["TENANT.ADMIN"])
            await session.commit()
            token, _ = TokenService(session, runtime).auth_token(user, tenant)
            return tenant.uid, token
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def servers(
    database_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], tuple[Settings, str]]]:
    """One server per engine for the module, started when a test first needs it; each test
    works in a tenant of its own."""
    started: dict[str, tuple[Settings, str]] = {}
    with contextlib.ExitStack() as stack:

        def serve(backend: str) -> tuple[Settings, str]:
            if backend not in started:
                workdir = tmp_path_factory.mktemp(f"flow-spec-{backend}")
                settings = settings_for(database_urls[backend], workdir)
                started[backend] = (
                    settings,
                    stack.enter_context(running_posfleet(settings, workdir)),
                )
            return started[backend]

        yield serve


@pytest.fixture
def world(servers: Callable[[str], tuple[Settings, str]], backend: str) -> World:
    settings, base = servers(backend)
    tenant_uid, token = asyncio.run(_arrange(settings))
    return _world(base, tenant_uid, token)


def _world(base: str, tenant_uid: str, token: str) -> World:
    headers = {"Authorization": f"Bearer {token}"}

    def new_device() -> str:
        r = httpx.post(
            f"{base}/v2/tenants/{tenant_uid}/devices",
            json={"name": "Contract till", "appCode": AppCode.CLIENT.value},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["deviceUid"])

    return World(f"{base}/v2", tenant_uid, {"admin": token}, new_device)


def path_parameters(operation: Any, world: World) -> dict[str, Any]:
    """Real values for the operation's path, so that generated requests reach real data."""
    values: dict[str, Any] = {}
    names = {p.name for p in operation.path_parameters}
    if "tenantUid" in names:
        values["tenantUid"] = world.tenant_uid
    if "deviceUid" in names:
        values["deviceUid"] = world.new_device()
    return values


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_generated_requests_get_no_5xx_and_schema_valid_answers(
    world: World, operation_id: str
) -> None:
    schema = schemathesis.openapi.from_path(str(SPEC))
    operation = schema.find_operation_by_id(operation_id)
    headers = {"Authorization": f"Bearer {world.tokens[OPERATIONS[operation_id]]}"}
    fixed = path_parameters(operation, world)
    # Half the cases are valid requests on the world's own paths, so that the run reaches what
    # the operation does and not only its refusals.
    valid = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed)
    strategy = st.one_of(
        valid,
        valid,
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.POSITIVE),
    )
    seen: dict[int, int] = {}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        # Without the target phase, which steers by the answers schemathesis reports, the same
        # cases are generated on every run.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=world.base_url, headers=headers, timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    assert any(200 <= status < 300 for status in seen), seen
