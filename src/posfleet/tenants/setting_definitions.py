"""The settings every device of a tenant has, and the rules a value must satisfy.

A device's values are checked against these definitions in :mod:`posfleet.devices.settings`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import DeviceSettingDefinition
from posfleet.models.enums import SettingType
from posfleet.tenants.fields import Fields, Regex
from posfleet.tenants.repository import TenantRepository
from posfleet.tenants.service import apply, require


class SettingDefinitionFields(Fields):
    key: str = Field(default="", min_length=1, max_length=100, pattern=r"^\S+$")
    name: str = Field(default="", max_length=200)
    type: SettingType = SettingType.STRING
    allowed_values: list[str] = Field(default_factory=list, max_length=200)
    validation_regex: Regex = ""
    required: bool = False
    default_value: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _enum_values(self) -> SettingDefinitionFields:
        if self.type == SettingType.ENUM and not self.allowed_values:
            raise ValueError("an ENUM setting must list its allowedValues")
        return self


class SettingDefinitionService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)

    async def define_setting(
        self, tenant_id: int, fields: SettingDefinitionFields
    ) -> DeviceSettingDefinition:
        require(fields, "key", "type")
        if await self.repository.setting_definition(tenant_id, fields.key) is not None:
            raise Conflict(f"Setting {fields.key!r} is already defined")
        definition = DeviceSettingDefinition(tenant_id=tenant_id)
        apply(definition, fields.values())
        definition.name = fields.name or fields.key
        return await self.repository.add(definition)

    async def find_setting_definition(
        self, tenant_id: int, key: str
    ) -> DeviceSettingDefinition | None:
        return await self.repository.setting_definition(tenant_id, key)

    async def get_setting_definition(self, tenant_id: int, key: str) -> DeviceSettingDefinition:
        definition = await self.repository.setting_definition(tenant_id, key)
        if definition is None:
            raise NotFound(f"No setting {key!r} in this tenant")
        return definition

    async def list_setting_definitions(self, tenant_id: int) -> Sequence[DeviceSettingDefinition]:
        return await self.repository.setting_definitions(tenant_id)

    async def page_setting_definitions(
        self, tenant_id: int, page: PageRequest
    ) -> Page[DeviceSettingDefinition]:
        return await self.repository.page(
            self.repository.setting_definitions_query(tenant_id), page
        )

    async def update_setting_definition(
        self, tenant_id: int, key: str, changes: SettingDefinitionFields
    ) -> DeviceSettingDefinition:
        definition = await self.get_setting_definition(tenant_id, key)
        given = changes.given()
        given.pop("key", None)
        apply(definition, given)
        if definition.type == SettingType.ENUM and not definition.allowed_values:
            raise ValidationFailed(
                "an ENUM setting must list its allowedValues",
                errors={"allowedValues": "must list the values of an ENUM setting"},
            )
        await self.repository.flush()
        return definition

    async def delete_setting_definition(self, tenant_id: int, key: str) -> None:
        """Delete the definition; devices' values of it are no longer shown."""
        await self.repository.delete(await self.get_setting_definition(tenant_id, key))
