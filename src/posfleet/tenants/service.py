"""Tenants (retailers): creating, finding, changing and deleting them.

What a tenant owns has a service of its own in this package: stores, tills and printers
(:mod:`.stores`), the payment catalogue (:mod:`.payments`), reasons and denominations
(:mod:`.reasons`) and device setting definitions (:mod:`.setting_definitions`).  Each of them
takes the tenant the same way, as its ``tenant_id`` first, and finds every row within it.

``create_*`` raises :class:`~posfleet.errors.Conflict` on a taken UID; ``get_*`` raises
:class:`~posfleet.errors.NotFound`; ``find_*`` answers ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.models import Tenant
from posfleet.tenants.fields import (
    Country,
    Currency,
    Fields,
    Language,
    Name,
    OptionalUid,
    Timezone,
    Uid,
    check_uid,
)
from posfleet.tenants.repository import TenantRepository

__all__ = ["TenantFields", "TenantService", "apply", "check_new_uid", "check_uid", "require"]


class TenantFields(Fields):
    """A tenant's own columns (what DeviceInfo shows as the tenant and its currency)."""

    name: Name = ""
    country_code: Country = "NO"
    vat_number: str = Field(default="", max_length=40)
    timezone: Timezone = "Europe/Oslo"
    language_code: Language = "nb"
    currency_code: Currency = "NOK"
    currency_name: str = Field(default="Norwegian krone", max_length=64)
    currency_symbol: str = Field(default="kr", max_length=8)
    currency_symbol_position: str = Field(default="AFTER", pattern="^(BEFORE|AFTER)$")
    decimal_separator: str = Field(default=",", min_length=1, max_length=1)
    thousand_separator: str = Field(default=" ", max_length=1)
    cash_rounding: int = Field(default=100, ge=1)
    pricelist_uid: OptionalUid = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    app_settings: dict[str, Any] = Field(default_factory=dict)
    extensions: list[dict[str, Any]] = Field(default_factory=list)
    logo_url: str = Field(default="", max_length=500)
    logo_asset_uid: OptionalUid = ""
    splash_url: str = Field(default="", max_length=500)
    splash_asset_uid: OptionalUid = ""


def require(fields: Fields, *names: str) -> None:
    """A new row needs these fields given (an update may leave them out)."""
    missing = [n for n in names if n not in fields.model_fields_set]
    if missing:
        raise ValidationFailed(
            "Missing " + ", ".join(to_camel(n) for n in missing),
            errors={to_camel(n): "is required" for n in missing},
        )


def check_new_uid(what: str, uid: str | None) -> None:
    """A caller-chosen UID must match Flow's pattern; ``None`` means a random one."""
    if uid is not None and (message := check_uid(uid)):
        raise ValidationFailed(f"Invalid {what}: uid {message}", errors={"uid": message})


def apply(row: object, changes: dict[str, Any]) -> None:
    """Copy declared fields of a :class:`Fields` model onto their columns."""
    for name, value in changes.items():
        setattr(row, name, value)


class TenantService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)

    async def create_tenant(self, fields: TenantFields, *, uid: Uid | None = None) -> Tenant:
        require(fields, "name")
        check_new_uid("tenant", uid)
        if uid is not None and await self.repository.tenant_by_uid(uid) is not None:
            raise Conflict(f"Tenant {uid!r} already exists")
        tenant = Tenant()
        apply(tenant, fields.values())
        if uid is not None:
            tenant.uid = uid
        return await self.repository.add(tenant)

    async def find_tenant(self, uid: str) -> Tenant | None:
        return await self.repository.tenant_by_uid(uid)

    async def get_tenant(self, uid: str) -> Tenant:
        tenant = await self.repository.tenant_by_uid(uid)
        if tenant is None:
            raise NotFound(f"No tenant {uid!r}")
        return tenant

    async def get_tenant_by_id(self, tenant_id: int) -> Tenant:
        tenant = await self.repository.tenant_by_id(tenant_id)
        if tenant is None:
            raise NotFound("No such tenant")
        return tenant

    async def list_tenants(self) -> Sequence[Tenant]:
        return await self.repository.tenants()

    async def update_tenant(self, tenant_id: int, changes: TenantFields) -> Tenant:
        tenant = await self.get_tenant_by_id(tenant_id)
        apply(tenant, changes.given())
        await self.repository.flush()
        return tenant

    async def delete_tenant(self, tenant_id: int) -> None:
        """Delete the tenant and, by cascade, everything it owns."""
        await self.repository.delete(await self.get_tenant_by_id(tenant_id))
