"""Flow v2 wire shapes of the device operations (camelCase).

Responses are plain dicts serialised with orjson: ``GET /device`` is the hottest read of a
fleet.  Free-form JSON columns (settings, extensions, opening hours...) are projected onto the
spec's shapes here, so a stored value of the wrong kind never produces a schema-invalid body:
unknown enum members are dropped, missing fields take neutral values, and a UID the spec requires
non-empty but posfleet does not have is sent as :data:`UNSET_UID`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import Field

from posfleet.devices.info import DeviceInfo
from posfleet.flow.schemas import FlowRequest, GeneralParameter
from posfleet.models import (
    CurrencyDenomination,
    Device,
    Printer,
    Reason,
    Store,
    StorePaymentMethod,
    Tenant,
    TenantUser,
    Till,
)

#: Stands in for a UID-typed reference the spec requires non-empty that is not configured.
UNSET_UID = "none"
_UID_START = re.compile(r"[A-Za-z0-9_-]")

STORE_SETTING_KEYS = frozenset({"VIPPS_MSN", "ADYEN_API_KEY"})
TILL_SETTING_KEYS = frozenset(
    {
        "STRIPE_TERMINAL_ID",
        "ADYEN_POS_TERMINAL_ID",
        "PAYEX_TERMINAL_IP",
        "PAYEX_TERMINAL_PORT",
        "PAYEX_COMMAND_QUEUE",
        "NETS_TERMINAL_ID",
        "VERIFONE_TERMINAL_POI_ID",
    }
)
EXTENSION_CODES = frozenset(
    {
        "FLOWGIFTCARD",
        "ADYEN_POS",
        "PAYEX_POS",
        "VIPPS",
        "EXTERNAL_CUSTOMER_SEARCH",
        "STORE_CREDIT",
        "SMS",
        "STRIPE",
        "NETS",
        "VERIFONE",
        "SERVICE_WORKSHOP",
        "TWO_INVOICE",
        "FOREIGN_CASH",
        "OMNIUM",
        "DILLER",
        "ARTS",
        "CAMPAIGN",
        "B2B",
        "PEOPLE_COUNTER_KUNDETELLING",
        "COMPENSATION",
        "SWISH",
        "DINTERO",
        "KID",
        "EHF",
        "POWER",
        "BRITANNIA",
    }
)
TOUCH_MODES = frozenset({"UNAVAILABLE", "ALWAYS", "OPTIONAL_ON", "OPTIONAL_OFF"})
PARAMETER_TYPES = frozenset(
    {"TEXT", "INTEGER", "NUMERIC", "DATE", "MOBILE", "MODULUS10", "MODULUS11"}
)
_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "note")

# Sort fields of GET /device/users, Flow name → user sort key of the users domain.
USER_SORT_FIELDS = {
    "userCode": "user_code",
    "firstname": "first_name",
    "lastname": "last_name",
    "accountType": "account_type",
    "lastAccessed": "last_accessed_at",
    "createdAt": "created_at",
}

# Requests ------------------------------------------------------------------------------------


class DeviceLinkRequest(FlowRequest):
    appId: str = Field(min_length=1, max_length=100)
    userCode: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)
    systemInformation: str | None = Field(default=None, max_length=4000)


class DeviceTokenRequest(FlowRequest):
    appId: str = Field(min_length=1, max_length=100)
    refreshToken: str = Field(min_length=1, max_length=200)


class DevicePollRequest(FlowRequest):
    clientId: str = Field(min_length=1, max_length=100)
    deviceIdentifier: str = Field(min_length=1, max_length=200)


class DeviceSystemInformationUpdate(FlowRequest):
    systemInformation: str = Field(max_length=4000)


class DeviceLoginRequest(FlowRequest):
    userCode: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


# Helpers -------------------------------------------------------------------------------------


def timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def uid(value: str | None) -> str:
    return value if value and _UID_START.match(value) else UNSET_UID


def _str(source: Mapping[str, Any], key: str, default: str = "") -> str:
    value = source.get(key, default)
    return value if isinstance(value, str) else default


def _bool(source: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = source.get(key, default)
    return value if isinstance(value, bool) else default


def _int(source: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = source.get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _entries(value: Any) -> Iterable[Mapping[str, Any]]:
    return (
        [entry for entry in value if isinstance(entry, Mapping)] if isinstance(value, list) else []
    )


def _key_values(value: Any, keys: frozenset[str]) -> list[dict[str, str]]:
    return [
        {"key": entry["key"], "value": _str(entry, "value")}
        for entry in _entries(value)
        if entry.get("key") in keys
    ]


# Responses -----------------------------------------------------------------------------------


def payment_method(method: StorePaymentMethod) -> dict[str, Any]:
    requirements = _mapping(method.requirements)
    return {
        "allowRefund": method.allow_refund,
        "allowSale": method.allow_sale,
        "allowCashback": method.allow_cashback,
        "allowAmount": method.allow_amount,
        "name": method.name,
        "parameters": [
            {
                "name": _str(p, "name"),
                "description": _str(p, "description"),
                "required": _bool(p, "required"),
                "key": _str(p, "key"),
                "keyType": p["keyType"] if p.get("keyType") in PARAMETER_TYPES else "TEXT",
                "regex": _str(p, "regex"),
            }
            for p in _entries(method.parameters)
        ],
        "paymentCode": method.code.value,
        "storePaymentMethodUid": uid(method.uid),
        "requirements": {
            key: _bool(requirements, key)
            for key in (
                "requireCustomer",
                "requireCustomerMobile",
                "requireCustomerEmail",
                "requireCustomerContact",
                "requireExclusiveUse",
            )
        },
        "settlementCode": method.settlement_code,
        "visibility": method.visibility.value,
        "position": method.position,
        "description": method.description,
    }


def _reasons(reasons: Iterable[Reason]) -> list[dict[str, str]]:
    return [{"code": r.code, "description": r.description} for r in reasons]


def store_info(store: Store) -> dict[str, Any]:
    hours = _mapping(store.opening_hours)
    bank = _mapping(store.bank_info)
    return {
        "address": store.address,
        "city": store.city,
        "countryCode": store.country_code,
        "createdAt": timestamp(store.created_at),
        "defaultWarehouseUid": store.default_warehouse_uid,
        "defaultReturnWarehouseUid": store.default_return_warehouse_uid,
        "defaultDeliveryWarehouseUid": store.default_delivery_warehouse_uid,
        "email": store.email,
        "externalId": store.external_id,
        "isActive": store.is_active,
        "lastModifiedAt": timestamp(store.last_modified_at),
        "latitude": store.latitude,
        "longitude": store.longitude,
        "name": store.name,
        "postalCode": store.postal_code,
        "phone": store.phone,
        "purchaseNumberSeriesUid": uid(store.purchase_number_series_uid),
        "internalPurchaseNumberSeriesUid": store.internal_purchase_number_series_uid,
        "rmaOrderNumberSeriesUid": store.rma_order_number_series_uid,
        "customerLedgerNumberSeriesUid": store.customer_ledger_number_series_uid,
        "quicksaleCategoryUid": store.quicksale_category_uid,
        "receiptMessage": store.receipt_message,
        "emailReceiptMessage": store.email_receipt_message,
        "exchangenoteMessage": store.exchangenote_message,
        "exchangenoteValidDays": store.exchangenote_valid_days,
        "salesPriceUid": store.sales_price_uid,
        "settings": _key_values(store.settings, STORE_SETTING_KEYS),
        "storeUid": uid(store.uid),
        "vatNumber": store.vat_number,
        "voucherNumberSeriesUid": uid(store.voucher_number_series_uid),
        "serviceNumberSeriesUid": uid(store.service_number_series_uid),
        "hasWorkShop": store.has_workshop,
        "organizationUid": uid(store.organization_uid),
        "availableExtensions": [
            {"extensionCode": e["extensionCode"], "name": _str(e, "name")}
            for e in _entries(store.available_extensions)
            if e.get("extensionCode") in EXTENSION_CODES
        ],
        "openingHours": {day: _str(hours, day) for day in _WEEK},
        "bankInfo": {
            key: _str(bank, key) for key in ("accountNumber", "bankName", "iban", "swift")
        },
        "websiteUrl": store.website_url,
    }


def tenant_info(tenant: Tenant) -> dict[str, Any]:
    settings = _mapping(tenant.settings)
    app_settings = _mapping(tenant.app_settings)
    return {
        "countryCode": tenant.country_code,
        "createdAt": timestamp(tenant.created_at),
        "lastModifiedAt": timestamp(tenant.last_modified_at),
        "name": tenant.name,
        "pricelistUid": tenant.pricelist_uid,
        "tenantUid": uid(tenant.uid),
        "vatNumber": tenant.vat_number,
        "settings": {
            "allowExternalCashDrawer": _bool(settings, "allowExternalCashDrawer"),
            "autoLogout": _int(settings, "autoLogout"),
            "autoPrintReceipt": _bool(settings, "autoPrintReceipt"),
            "numericSkuCounter": _int(settings, "numericSkuCounter"),
            "printCardPaymentDetails": _bool(settings, "printCardPaymentDetails"),
            "sendInvoicesExternally": _bool(settings, "sendInvoicesExternally"),
        },
        "appSettings": {"showOutOfStockWarning": _bool(app_settings, "showOutOfStockWarning")},
        "extensions": [
            {
                "extensionCode": e["extensionCode"],
                "name": _str(e, "name"),
                "active": _bool(e, "active", True),
            }
            for e in _entries(tenant.extensions)
            if e.get("extensionCode") in EXTENSION_CODES
        ],
        "assets": {
            "logo": {"url": tenant.logo_url, "assetUid": uid(tenant.logo_asset_uid)},
            "splash": {"url": tenant.splash_url, "assetUid": uid(tenant.splash_asset_uid)},
        },
        "timezone": tenant.timezone,
        "languageCode": tenant.language_code,
        "currency": {
            "code": tenant.currency_code,
            "name": tenant.currency_name,
            "symbol": tenant.currency_symbol,
            "symbolPosition": tenant.currency_symbol_position,
            "decimalSeparator": tenant.decimal_separator,
            "thousandSeparator": tenant.thousand_separator,
            "cashRounding": tenant.cash_rounding,
        },
    }


def till_info(till: Till | None, device: Device) -> dict[str, Any]:
    """The device's till; a device without one gets a neutral till numbered 0 (documented)."""
    if till is None:
        return {
            "barcodePrinter": "",
            "cashDrawer": "",
            "createdAt": timestamp(device.created_at),
            "deviceIdentifier": device.identifier,
            "lastModifiedAt": timestamp(device.created_at),
            "lastOrderUid": UNSET_UID,
            "lastOrderNumber": "",
            "name": "",
            "paymentTerminal": "NONE",
            "receiptPrinter": "",
            "regularPrinter": "",
            "settings": [],
            "tillUid": UNSET_UID,
            "tillNumber": 0,
            "appSettings": {
                "saleStopAtDelivery": False,
                "autoLogout": -1,
                "touchMode": "UNAVAILABLE",
            },
        }
    app_settings = _mapping(till.app_settings)
    touch_mode = app_settings.get("touchMode")
    return {
        "barcodePrinter": till.barcode_printer,
        "cashDrawer": till.cash_drawer,
        "createdAt": timestamp(till.created_at),
        "deviceIdentifier": device.identifier,
        "lastModifiedAt": timestamp(till.last_modified_at),
        "lastOrderUid": uid(till.last_order_uid),
        "lastOrderNumber": till.last_order_number,
        "name": till.name,
        "paymentTerminal": till.payment_terminal.value,
        "receiptPrinter": till.receipt_printer,
        "regularPrinter": till.regular_printer,
        "settings": _key_values(till.settings, TILL_SETTING_KEYS),
        "tillUid": uid(till.uid),
        "tillNumber": till.number,
        "appSettings": {
            "saleStopAtDelivery": _bool(app_settings, "saleStopAtDelivery"),
            "autoLogout": _int(app_settings, "autoLogout", -1),
            "touchMode": touch_mode if touch_mode in TOUCH_MODES else "UNAVAILABLE",
        },
    }


def _denomination(row: CurrencyDenomination) -> dict[str, Any]:
    return {
        "currencyCode": row.currency_code,
        "denomination": row.denomination,
        "material": row.material.value,
    }


def _printer(printer: Printer) -> dict[str, Any]:
    return {"printerUid": uid(printer.uid), "name": printer.name, "type": printer.type.value}


def device_info(info: DeviceInfo) -> dict[str, Any]:
    """``DeviceInfoResponseSchema``."""
    return {
        "availablePaymentMethods": [payment_method(m) for m in info.payment_methods],
        "zeroAmountPaymentMethod": payment_method(info.zero_amount_method),
        "availableReasons": {
            "discount": _reasons(info.discount_reasons),
            "return": _reasons(info.return_reasons),
        },
        "deviceIdentifier": info.device.identifier or "",
        "deviceUid": uid(info.device.uid),
        "storeInfo": store_info(info.store),
        "tenantInfo": tenant_info(info.tenant),
        "tillInfo": till_info(info.till, info.device),
        "currencyDenominations": [_denomination(d) for d in info.denominations],
        "name": info.device.name,
        "settings": [GeneralParameter.of(view).model_dump(mode="json") for view in info.settings],
        "printers": [_printer(p) for p in info.printers],
    }


def device_user(user: TenantUser) -> dict[str, Any]:
    """``DeviceUserResponseSchema``; a user who never signed in shows their creation time."""
    return {
        "accountType": user.account_type.value,
        "displayName": user.display_name,
        "firstname": user.first_name,
        "lastAccessed": timestamp(user.last_accessed_at or user.created_at),
        "lastname": user.last_name,
        "tenantUserUid": uid(user.uid),
        "userCode": user.user_code,
        "languageCode": user.language_code,
    }
