"""The tenant configuration API against its own generated OpenAPI document, with schemathesis.

Every operation of the router gets generated requests, valid and invalid, against a real server
on loopback; none may answer 5xx and every documented answer must match its schema.  Path
values name real rows, so that generated requests reach real data.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance

from posfleet.config import Settings
from posfleet.flow import tenant_config
from posfleet.runtime import Runtime
from posfleet.tokens.service import TokenService
from tests import factories
from tests.support.server import running_posfleet

OPERATIONS = sorted(
    route.operation_id
    for route in tenant_config.router.routes
    if isinstance(route, APIRoute) and route.operation_id
)
MAX_EXAMPLES = 12
_COUNTER = itertools.count(1)  # each operation's rows get names of their own
CHECKS = [not_a_server_error, response_schema_conformance]


async def _arrange(settings: Settings) -> tuple[str, str]:
    runtime = Runtime.create(settings)
    try:
        await runtime.load_signing_keys()
        async with runtime.sessionmaker() as session:
            tenant = await factories.tenant(session)
            user = await factories.user(session, tenant, permissions=["TENANT.ADMIN"])
            await session.commit()
            token, _ = TokenService(session, runtime).auth_token(user, tenant)
            return tenant.uid, token
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, database_urls: dict[str, str]
) -> Iterator[tuple[str, str, str, str]]:
    """One server (SQLite) for the whole module: the operations share it (and one device)."""
    from posfleet.config import Environment
    from tests.conftest import TEST_SECRET

    tmp = tmp_path_factory.mktemp("config-contract")
    settings = Settings(
        database_url=database_urls["sqlite"],
        environment=Environment.TEST,
        secret_key=TEST_SECRET,
        secret_key_file=tmp / "secret",
        public_base_url="http://testserver",
        log_level="warning",
    )
    tenant_uid, token = asyncio.run(_arrange(settings))
    with running_posfleet(settings, tmp) as base:
        # Made before any generated request: those may add required device settings, which a
        # device created later would have to fill in.
        device = httpx.post(
            f"{base}/v2/tenants/{tenant_uid}/devices",
            json={"name": "D", "appCode": "CLIENT"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert device.status_code == 201, device.text
        yield base, tenant_uid, token, device.json()["deviceUid"]


def _rows(
    base: str, tenant_uid: str, headers: dict[str, str], device_uid: str
) -> Callable[[Any], dict[str, Any]]:
    url = f"{base}/v2/tenants/{tenant_uid}"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(url + path, json=body, headers=headers)
        assert r.status_code == 201, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def fill(operation: Any) -> dict[str, Any]:
        names = {p.name for p in operation.path_parameters}
        n = next(_COUNTER)
        values: dict[str, Any] = {"tenantUid": tenant_uid}
        if names & {"storeUid", "tillUid", "paymentMethodUid"}:
            store = post("/stores", {"name": f"Store {n}"})
            values["storeUid"] = store["storeUid"]
            if "tillUid" in names:
                values["tillUid"] = post(f"/stores/{store['storeUid']}/tills", {"number": 1})[
                    "tillUid"
                ]
            if "paymentMethodUid" in names:
                method = post(
                    f"/stores/{store['storeUid']}/payment-methods", {"code": "VIPPS", "name": "V"}
                )
                values["paymentMethodUid"] = method["paymentMethodUid"]
        if "printerUid" in names:
            values["printerUid"] = post("/printers", {"name": "P", "type": "LABEL"})["printerUid"]
        if "code" in names:
            values.update(post("/reasons", {"kind": "RETURN", "code": f"R{n}"}))
            values["kind"] = "RETURN"
        elif "kind" in names:
            values["kind"] = "DISCOUNT"
        if "denomination" in names:
            added = post("/currency-denominations", {"denomination": n, "material": "COIN"})
            values.update(denomination=n, material="COIN", currencyCode=added["currencyCode"])
        if "userUid" in names:
            values["userUid"] = post("/users", {"userCode": f"u{n}", "password": "2468"})["userUid"]
        if "deviceUid" in names:
            values["deviceUid"] = device_uid
        if "key" in names:
            values["key"] = post("/device-settings", {"key": f"k{n}", "type": "BOOL"})["key"]
        return {k: v for k, v in values.items() if k in names}

    return fill


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_generated_requests_get_no_5xx_and_schema_valid_answers(
    served: tuple[str, str, str, str], operation_id: str
) -> None:
    base, tenant_uid, token, device_uid = served
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operation = schema.find_operation_by_id(operation_id)
    fixed = _rows(base, tenant_uid, headers, device_uid)(operation)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed),
    )
    seen: dict[int, int] = {}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    assert seen, "no request was made"
