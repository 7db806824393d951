"""Which device-flow clients a tenant lets its users approve, under
``/v2/tenants/{tenantUid}/device-flow-clients``.  Translation only: the rule lives in
:mod:`posfleet.deviceflow.access`.  Tenant administrators (``TENANT.ADMIN``) only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StringConstraints

from posfleet.deviceflow.access import ClientAccess, ClientAccessService
from posfleet.flow.config_schemas import Answer, Body
from posfleet.flow.tenant_config import Admin
from posfleet.http import DbSession
from posfleet.models.enums import AppCode

router = APIRouter(prefix="/v2/tenants/{tenantUid}", tags=["Tenant configuration"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "An unknown client id, or a malformed body"},
    401: {"description": "Missing, malformed, expired or revoked token"},
    403: {"description": "The token lacks TENANT.ADMIN, or belongs to another tenant"},
}
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ClientAllowed(Answer):
    client_id: str
    name: str
    app_code: AppCode
    is_active: bool = Field(description="An inactive client is refused everywhere")
    allowed: bool = Field(description="Whether this tenant's users may approve its devices")


class DeviceFlowClientsAnswer(Answer):
    only_listed: bool = Field(
        description="false: every active client is allowed (the default); "
        "true: only the clients in allowedClientIds"
    )
    allowed_client_ids: list[str]
    clients: list[ClientAllowed]

    @classmethod
    def of_access(cls, access: ClientAccess) -> DeviceFlowClientsAnswer:
        return cls(
            only_listed=access.only_listed,
            allowed_client_ids=access.listed,
            clients=[
                ClientAllowed(
                    client_id=c.client.client_id,
                    name=c.client.name,
                    app_code=c.client.app_code,
                    is_active=c.client.is_active,
                    allowed=c.allowed,
                )
                for c in access.clients
            ],
        )


class DeviceFlowClientsUpdate(Body):
    only_listed: bool
    allowed_client_ids: list[ClientId] = Field(default_factory=list, max_length=1000)


@router.get(
    "/device-flow-clients",
    operation_id="get-tenants-device-flow-clients",
    summary="Which device-flow clients the tenant's users may approve",
    responses=_ERRORS,
)
async def get_device_flow_clients(principal: Admin, session: DbSession) -> DeviceFlowClientsAnswer:
    access = await ClientAccessService(session).of_tenant(principal.tenant.id)
    return DeviceFlowClientsAnswer.of_access(access)


@router.put(
    "/device-flow-clients",
    operation_id="put-tenants-device-flow-clients",
    summary="Allow every active device-flow client, or only the ones listed",
    responses=_ERRORS,
)
async def put_device_flow_clients(
    body: DeviceFlowClientsUpdate, principal: Admin, session: DbSession
) -> DeviceFlowClientsAnswer:
    access = await ClientAccessService(session).choose(
        principal.tenant.id,
        only_listed=body.only_listed,
        client_ids=body.allowed_client_ids,
        actor=principal.actor,
    )
    return DeviceFlowClientsAnswer.of_access(access)
