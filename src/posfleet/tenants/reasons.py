"""What a cashier picks from on the till: discount and return reasons, and the coins and notes
counted when the till is settled (in the currency's minor units)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import CurrencyDenomination, Reason
from posfleet.models.enums import DenominationMaterial, ReasonKind
from posfleet.tenants.fields import Currency, Fields
from posfleet.tenants.repository import TenantRepository
from posfleet.tenants.service import TenantService, apply, require


class ReasonFields(Fields):
    kind: ReasonKind = ReasonKind.DISCOUNT
    code: str = Field(default="", min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")
    description: str = Field(default="", max_length=300)
    position: int = Field(default=0, ge=0, le=1_000_000)


class DenominationFields(Fields):
    """``currency_code`` defaults to the tenant's currency."""

    denomination: int = Field(default=0, ge=1, le=10**12)
    material: DenominationMaterial = DenominationMaterial.COIN
    currency_code: Currency | None = None


class ReasonService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)
        self.tenants = TenantService(session)

    # Reasons -----------------------------------------------------------------------------

    async def create_reason(self, tenant_id: int, fields: ReasonFields) -> Reason:
        require(fields, "kind", "code")
        if await self.repository.reason(tenant_id, fields.kind, fields.code) is not None:
            raise Conflict(f"{fields.kind} reason {fields.code!r} already exists")
        reason = Reason(tenant_id=tenant_id)
        apply(reason, fields.values())
        return await self.repository.add(reason)

    async def find_reason(self, tenant_id: int, kind: ReasonKind, code: str) -> Reason | None:
        return await self.repository.reason(tenant_id, kind, code)

    async def get_reason(self, tenant_id: int, kind: ReasonKind, code: str) -> Reason:
        reason = await self.repository.reason(tenant_id, kind, code)
        if reason is None:
            raise NotFound(f"No {kind} reason {code!r} in this tenant")
        return reason

    async def list_reasons(
        self, tenant_id: int, kind: ReasonKind | None = None
    ) -> Sequence[Reason]:
        return await self.repository.reasons(tenant_id, kind)

    async def page_reasons(
        self, tenant_id: int, kind: ReasonKind, page: PageRequest
    ) -> Page[Reason]:
        return await self.repository.page(self.repository.reasons_query(tenant_id, kind), page)

    async def update_reason(
        self, tenant_id: int, kind: ReasonKind, code: str, changes: ReasonFields
    ) -> Reason:
        """Change a reason's description or position (kind and code name it)."""
        reason = await self.get_reason(tenant_id, kind, code)
        given = changes.given()
        given.pop("kind", None)
        given.pop("code", None)
        apply(reason, given)
        await self.repository.flush()
        return reason

    async def delete_reason(self, tenant_id: int, kind: ReasonKind, code: str) -> None:
        await self.repository.delete(await self.get_reason(tenant_id, kind, code))

    # Denominations -----------------------------------------------------------------------

    async def add_denomination(
        self, tenant_id: int, fields: DenominationFields
    ) -> CurrencyDenomination:
        """A coin or note of the tenant's currency (or ``currency_code``), in minor units."""
        require(fields, "denomination", "material")
        currency = await self._currency(tenant_id, fields.currency_code)
        found = await self.repository.denomination(
            tenant_id, currency, fields.denomination, fields.material
        )
        if found is not None:
            raise Conflict(
                f"{currency} {fields.material.lower()} {fields.denomination} already exists"
            )
        return await self.repository.add(
            CurrencyDenomination(
                tenant_id=tenant_id,
                currency_code=currency,
                denomination=fields.denomination,
                material=fields.material,
            )
        )

    async def _currency(self, tenant_id: int, currency_code: str | None) -> str:
        if currency_code:
            return currency_code
        return (await self.tenants.get_tenant_by_id(tenant_id)).currency_code

    async def find_denomination(
        self,
        tenant_id: int,
        denomination: int,
        material: DenominationMaterial,
        currency_code: str | None = None,
    ) -> CurrencyDenomination | None:
        currency = await self._currency(tenant_id, currency_code)
        return await self.repository.denomination(tenant_id, currency, denomination, material)

    async def list_denominations(self, tenant_id: int) -> Sequence[CurrencyDenomination]:
        return await self.repository.denominations(tenant_id)

    async def page_denominations(
        self, tenant_id: int, page: PageRequest
    ) -> Page[CurrencyDenomination]:
        return await self.repository.page(self.repository.denominations_query(tenant_id), page)

    async def get_denomination(
        self,
        tenant_id: int,
        denomination: int,
        material: DenominationMaterial,
        currency_code: str | None = None,
    ) -> CurrencyDenomination:
        found = await self.find_denomination(tenant_id, denomination, material, currency_code)
        if found is None:
            raise NotFound(f"No {material.lower()} {denomination} in this tenant")
        return found

    async def delete_denomination(
        self,
        tenant_id: int,
        denomination: int,
        material: DenominationMaterial,
        currency_code: str | None = None,
    ) -> None:
        await self.repository.delete(
            await self.get_denomination(tenant_id, denomination, material, currency_code)
        )
