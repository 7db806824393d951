"""Which device-flow clients a tenant lets its users approve.

Device-flow clients are registered once for every tenant by the operator (``posfleet client``);
a tenant cannot create or change them.  What a tenant's administrator decides is whether its
users may approve devices of *every* active client (the default, and what every tenant had
before it could choose) or *only the clients it lists*.  Approving a grant of a client the
tenant does not allow is refused (400 ``client_not_allowed``) on the verification page and at
``POST /v2/device/authorize`` alike; a device can still register and wait, since the tenant it
is meant for is known only when someone approves it.  Every change is in the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppRegistryService
from posfleet.audit.service import AuditService
from posfleet.deviceflow.access_repository import ClientAccessRepository
from posfleet.errors import BadRequest, ValidationFailed
from posfleet.kit.clock import utcnow
from posfleet.models import DeviceFlowAccess, DeviceFlowClient

AUDIT_ACTION = "device-flow clients changed"


@dataclass(frozen=True, slots=True)
class ClientChoice:
    client: DeviceFlowClient
    allowed: bool


@dataclass(frozen=True, slots=True)
class ClientAccess:
    """The tenant's choice, and every registered client with whether the tenant allows it."""

    only_listed: bool
    clients: list[ClientChoice]

    @property
    def listed(self) -> list[str]:
        return [c.client.client_id for c in self.clients if self.only_listed and c.allowed]


class ClientAccessService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = ClientAccessRepository(session)
        self.apps = AppRegistryService(session)
        self.audit = AuditService(session)

    async def of_tenant(self, tenant_id: int) -> ClientAccess:
        access = await self.repository.access(tenant_id)
        only_listed = access is not None and access.only_listed
        listed = await self.repository.allowed_ids(tenant_id) if only_listed else set()
        clients = [
            ClientChoice(client, client.is_active and (not only_listed or client.id in listed))
            for client in await self.apps.list_device_flow_clients()
        ]
        return ClientAccess(only_listed, clients)

    async def choice(self, tenant_id: int) -> tuple[bool, list[str]]:
        """Whether the tenant allows only listed clients, and the client ids it lists
        (inactive ones too: the list is what the tenant chose, not what is usable today)."""
        access = await self.repository.access(tenant_id)
        if access is None or not access.only_listed:
            return False, []
        listed = await self.repository.allowed_ids(tenant_id)
        clients = await self.apps.list_device_flow_clients()
        return True, sorted(c.client_id for c in clients if c.id in listed)

    async def choose(
        self, tenant_id: int, *, only_listed: bool, client_ids: Sequence[str], actor: str
    ) -> ClientAccess:
        """Allow every active client, or (``only_listed``) exactly ``client_ids``."""
        known = {c.client_id: c for c in await self.apps.list_device_flow_clients()}
        unknown = sorted(set(client_ids) - set(known))
        if unknown:
            raise ValidationFailed(
                f"No device-flow client {', '.join(unknown)}",
                errors={"clients": f"not registered: {', '.join(unknown)}"},
            )
        chosen = sorted(set(client_ids)) if only_listed else []
        access = DeviceFlowAccess(
            tenant_id=tenant_id, only_listed=only_listed, changed_by=actor, changed_at=utcnow()
        )
        await self.repository.save(access, [known[c].id for c in chosen])
        self.audit.record(
            tenant_id, actor, AUDIT_ACTION, onlyListed=only_listed, allowedClients=chosen
        )
        return await self.of_tenant(tenant_id)

    async def check(self, tenant_id: int, client: DeviceFlowClient) -> None:
        """Refuse approving a grant of ``client`` into a tenant that does not allow it."""
        access = await self.repository.access(tenant_id)
        if access is None or not access.only_listed:
            return
        if not await self.repository.is_listed(tenant_id, client.id):
            raise BadRequest(
                f"This tenant does not allow devices of the device-flow client "
                f"{client.name} ({client.client_id}); a tenant administrator can allow it "
                "under Configuration in the back office",
                code="client_not_allowed",
            )
