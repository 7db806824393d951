"""Wire shapes of the tenant configuration API (camelCase, Flow's style).

Bodies are the services' own ``*Fields`` models, with Flow's refusal of NUL characters; a
create body adds the optional UID to give the new row.  Answers are the same fields plus the
row's identifiers, built from the stored row without validating it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from posfleet.apps.service import AppFields
from posfleet.flow.schemas import FlowRequest, Paging
from posfleet.models.enums import AccountType, AppCode, DenominationMaterial, UserStatus
from posfleet.tenants.fields import Fields, Uid
from posfleet.tenants.payments import PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields
from posfleet.tenants.service import TenantFields
from posfleet.tenants.setting_definitions import SettingDefinitionFields
from posfleet.tenants.stores import PrinterFields, StoreFields, TillFields

F = TypeVar("F", bound=Fields)
A = TypeVar("A", bound="Answer")


def fields_of(kind: type[F], body: BaseModel) -> F:
    """The service's ``kind`` from a request body, keeping which fields the caller gave."""
    names = set(kind.model_fields)
    fields = kind.model_construct(
        _fields_set=body.model_fields_set & names,
        **{name: getattr(body, name) for name in names},
    )
    return cast(F, fields)


class Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    @classmethod
    def of(cls: type[A], row: object, **extra: Any) -> A:
        names = [n for n in cls.model_fields if n not in extra and hasattr(row, n)]
        answer = cls.model_construct(**{n: getattr(row, n) for n in names}, **extra)
        return cast(A, answer)


class Body(FlowRequest):
    """A configuration body: an unknown field is a typo, refused with 400, not dropped."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


# Tenants -----------------------------------------------------------------------------------


class TenantUpdate(TenantFields, Body):
    pass


class TenantAnswer(TenantFields, Answer):
    tenant_uid: str
    config_version: int
    created_at: datetime
    last_modified_at: datetime


# Stores, tills, printers -------------------------------------------------------------------


class StoreCreate(StoreFields, Body):
    store_uid: Uid | None = None


class StoreUpdate(StoreFields, Body):
    pass


class StoreAnswer(StoreFields, Answer):
    store_uid: str
    created_at: datetime
    last_modified_at: datetime


class TillCreate(TillFields, Body):
    till_uid: Uid | None = None


class TillUpdate(TillFields, Body):
    pass


class TillAnswer(TillFields, Answer):
    till_uid: str
    store_uid: str


class PrinterCreate(PrinterFields, Body):
    printer_uid: Uid | None = None
    store_uid: Uid | None = None


class PrinterUpdate(PrinterFields, Body):
    pass


class PrinterAnswer(PrinterFields, Answer):
    printer_uid: str
    store_uid: str | None


# Payment methods ---------------------------------------------------------------------------


class PaymentMethodCreate(PaymentMethodFields, Body):
    payment_method_uid: Uid | None = None


class PaymentMethodUpdate(PaymentMethodFields, Body):
    pass


class PaymentMethodAnswer(PaymentMethodFields, Answer):
    payment_method_uid: str
    store_uid: str


# Reasons, denominations, setting definitions ----------------------------------------------


class ReasonCreate(ReasonFields, Body):
    pass


class ReasonUpdate(ReasonFields, Body):
    pass


class ReasonAnswer(ReasonFields, Answer):
    pass


class DenominationCreate(DenominationFields, Body):
    pass


class DenominationAnswer(Answer):
    currency_code: str
    denomination: int
    material: DenominationMaterial


class SettingDefinitionCreate(SettingDefinitionFields, Body):
    pass


class SettingDefinitionUpdate(SettingDefinitionFields, Body):
    pass


class SettingDefinitionAnswer(SettingDefinitionFields, Answer):
    pass


# Apps (a registry shared by every tenant: read-only here) ---------------------------------


class AppAnswer(AppFields, Answer):
    app_id: str
    app_code: AppCode


# Users -------------------------------------------------------------------------------------


class UserCreate(Body):
    user_uid: Uid | None = None
    user_code: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200, description="PIN or password")
    account_type: AccountType = AccountType.REGULAR
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=320)
    mobile: str = Field(default="", max_length=32)
    mobile_country_code: str = Field(default="", max_length=8)
    language_code: str = Field(default="nb", pattern=r"^[a-z]{2}$")
    permissions: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    all_stores: bool = False
    store_uids: list[Uid] = Field(default_factory=list, max_length=1000)


class UserUpdate(Body):
    """Partial: only the fields given change; ``storeUids`` replaces the user's stores."""

    password: str | None = Field(default=None, min_length=1, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    mobile: str | None = Field(default=None, max_length=32)
    mobile_country_code: str | None = Field(default=None, max_length=8)
    status: UserStatus | None = None
    permissions: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=50
    )
    all_stores: bool | None = None
    store_uids: list[Uid] | None = Field(default=None, max_length=1000)


class HardwareUpdate(Body):
    """A device's vendor facts; only the fields given change, ``""`` clears one."""

    vendor: str | None = Field(default=None, max_length=100)
    model_number: str | None = Field(default=None, max_length=100)
    mac_address: str | None = Field(
        default=None, pattern=r"^([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5})?$"
    )
    external_device_id: str | None = Field(default=None, max_length=100)


class HardwareAnswer(Answer):
    device_uid: str
    vendor: str
    model_number: str
    mac_address: str
    external_device_id: str


class UserAnswer(Answer):
    user_uid: str
    user_code: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    mobile_country_code: str
    account_type: AccountType
    status: UserStatus
    language_code: str
    permissions: list[str]
    all_stores: bool
    store_uids: list[str]


# Lists -------------------------------------------------------------------------------------


class StoreList(BaseModel):
    items: list[StoreAnswer]
    paging: Paging


class TillList(BaseModel):
    items: list[TillAnswer]
    paging: Paging


class PrinterList(BaseModel):
    items: list[PrinterAnswer]
    paging: Paging


class PaymentMethodList(BaseModel):
    items: list[PaymentMethodAnswer]
    paging: Paging


class ReasonList(BaseModel):
    items: list[ReasonAnswer]
    paging: Paging


class DenominationList(BaseModel):
    items: list[DenominationAnswer]
    paging: Paging


class SettingDefinitionList(BaseModel):
    items: list[SettingDefinitionAnswer]
    paging: Paging


class AppList(BaseModel):
    items: list[AppAnswer]
    paging: Paging


class UserList(BaseModel):
    items: list[UserAnswer]
    paging: Paging
