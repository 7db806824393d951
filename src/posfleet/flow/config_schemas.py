"""Wire shapes of the tenant configuration API (camelCase, Flow's style).

Bodies are the services' own ``*Fields`` models, with Flow's refusal of NUL characters; a
create body adds the optional UID to give the new row.  Answers are the same fields plus the
row's identifiers, built from the stored row without validating it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ConfigDict
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

    model_config = ConfigDict(extra="forbid")


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
