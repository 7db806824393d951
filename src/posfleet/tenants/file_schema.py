"""The tenant file: one tenant described declaratively in YAML or JSON (camelCase keys).

Each entry is the tenant services' own ``*Fields`` model plus the key that names the row
(``storeUid``, ``tillUid``, …, ``userCode``, ``deviceUid``), so a file is checked by the same
rules as the admin API.  A file never holds a secret: users may carry a ``password`` only for
an import (it is never exported), and devices get their link codes from
``posfleet devices reset-code``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from posfleet.apps.service import AppFields
from posfleet.models.enums import AccountType, AppCode, UserStatus
from posfleet.tenants.fields import Fields, Uid
from posfleet.tenants.payments import PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields
from posfleet.tenants.service import TenantFields
from posfleet.tenants.setting_definitions import SettingDefinitionFields
from posfleet.tenants.stores import PrinterFields, StoreFields, TillFields

FORMAT_VERSION = 1


class TenantEntry(TenantFields):
    tenant_uid: Uid


class AppEntry(AppFields):
    app_id: str = Field(min_length=1, max_length=100, pattern=r"^\S+$")


class PrinterEntry(PrinterFields):
    printer_uid: Uid


class TillEntry(TillFields):
    till_uid: Uid


class PaymentMethodEntry(PaymentMethodFields):
    payment_method_uid: Uid


class StoreEntry(StoreFields):
    store_uid: Uid
    tills: list[TillEntry] = Field(default_factory=list)
    printers: list[PrinterEntry] = Field(default_factory=list)
    payment_methods: list[PaymentMethodEntry] = Field(default_factory=list)


class UserEntry(Fields):
    user_code: str = Field(min_length=1, max_length=100)
    account_type: AccountType = AccountType.REGULAR
    first_name: str = Field(default="", max_length=100)
    last_name: str = Field(default="", max_length=100)
    email: str = Field(default="", max_length=320)
    mobile: str = Field(default="", max_length=32)
    mobile_country_code: str = Field(default="", max_length=8)
    status: UserStatus = UserStatus.ACTIVE
    language_code: str = Field(default="nb", pattern=r"^[a-z]{2}$")
    permissions: list[str] = Field(default_factory=list)
    all_stores: bool = False
    store_uids: list[Uid] = Field(default_factory=list)
    password: str | None = Field(
        default=None, description="Only for a new user, on import; never exported"
    )


class DeviceEntry(Fields):
    device_uid: Uid
    name: str = Field(min_length=1, max_length=200)
    app_code: AppCode = AppCode.CLIENT
    store_uid: Uid | None = None
    till_uid: Uid | None = None
    printer_uids: list[Uid] = Field(default_factory=list)
    settings: dict[str, str] = Field(default_factory=dict)
    vendor: str = Field(default="", max_length=100)
    model_number: str = Field(default="", max_length=100)
    mac_address: str = Field(default="", pattern=r"^([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5})?$")
    external_device_id: str = Field(default="", max_length=100)


class DeviceFlowClientsEntry(Fields):
    only_listed: bool = Field(
        description="false: every active device-flow client may be approved (the default); "
        "true: only the clients in allowedClientIds"
    )
    allowed_client_ids: list[str] = Field(default_factory=list, max_length=1000)


class TenantFile(Fields):
    format_version: int = Field(default=FORMAT_VERSION, ge=1, le=FORMAT_VERSION)
    tenant: TenantEntry
    apps: list[AppEntry] = Field(default_factory=list)
    reasons: list[ReasonFields] = Field(default_factory=list)
    denominations: list[DenominationFields] = Field(default_factory=list)
    device_settings: list[SettingDefinitionFields] = Field(default_factory=list)
    printers: list[PrinterEntry] = Field(default_factory=list)
    stores: list[StoreEntry] = Field(default_factory=list)
    users: list[UserEntry] = Field(default_factory=list)
    devices: list[DeviceEntry] = Field(default_factory=list)
    device_flow_clients: DeviceFlowClientsEntry | None = None


def location(loc: tuple[Any, ...] | list[Any]) -> str:
    """``stores[3].tills[0].number`` from a pydantic error location."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(file)"
