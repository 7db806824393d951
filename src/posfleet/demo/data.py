"""What the demo retailer looks like.  Fixed UIDs make every run find the rows of the last one.

Passwords here are for the demo only and documented in ``docs/demo.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from posfleet.models.enums import (
    AccountType,
    AppCode,
    DenominationMaterial,
    DeviceStatus,
    PaymentCode,
    PaymentTerminal,
    PaymentVisibility,
    PrinterType,
    ReasonKind,
    SettingType,
)

ACTOR = "posfleet-demo"

CLIENT_APP_ID = "no.flowretail.pos.client"
ASSISTANT_APP_ID = "no.flowretail.pos.assistant"
DEVICE_FLOW_CLIENT_ID = "flow-retail-pos-legacy"
API_KEY_NAME = "posfleet demo storefront key"

ADMIN_PASSWORD = "demo-admin-pass"
MANAGER_PASSWORD = "demo-manager-pass"
CASHIER_PASSWORD = "2468"
INTEGRATION_PASSWORD = "demo-integration-pass"
OTHER_ADMIN_PASSWORD = "demo-fjell-pass"


@dataclass(frozen=True)
class StoreSpec:
    uid: str
    name: str
    address: str
    postal_code: str
    city: str
    latitude: float
    longitude: float
    phone: str
    email: str
    tills: tuple[tuple[int, str, PaymentTerminal], ...]
    terminal_setting: tuple[str, str] | None = None


@dataclass(frozen=True)
class UserSpec:
    user_code: str
    password: str
    account_type: AccountType
    first_name: str
    last_name: str
    email: str
    mobile: str
    stores: tuple[str, ...] = ()
    all_stores: bool = False
    permissions: tuple[str, ...] = ()
    role: tuple[str, str] = ("cashier", "Cashier")


@dataclass(frozen=True)
class DeviceSpec:
    uid: str
    name: str
    app_code: AppCode
    status: DeviceStatus
    store_uid: str | None
    till_uid: str | None = None
    printer_uids: tuple[str, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()
    vendor: str = ""
    model_number: str = ""
    mac_address: str | None = None
    external_device_id: str = ""
    system_information: str = ""


@dataclass(frozen=True)
class TenantSpec:
    uid: str
    name: str
    vat_number: str
    stores: tuple[StoreSpec, ...]
    users: tuple[UserSpec, ...]
    devices: tuple[DeviceSpec, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def till_uid(store_uid: str, number: int) -> str:
    return f"{store_uid}-till-{number}"


def _hours(weekday: str, saturday: str, sunday: str = "closed") -> dict[str, str]:
    days = ("monday", "tuesday", "wednesday", "thursday", "friday")
    return {
        **dict.fromkeys(days, weekday),
        "saturday": saturday,
        "sunday": sunday,
        "note": "Reduced hours on public holidays",
    }


TENANT_DETAILS: dict[str, Any] = {
    "currency_name": "Norwegian krone",
    "currency_symbol": "kr",
    "currency_symbol_position": "AFTER",
    "decimal_separator": ",",
    "thousand_separator": " ",
    "cash_rounding": 100,
    "logo_url": "https://assets.nordlys.example/logo.png",
    "splash_url": "https://assets.nordlys.example/splash.png",
    "settings": {
        "allowExternalCashDrawer": False,
        "autoLogout": 300,
        "autoPrintReceipt": True,
        "numericSkuCounter": 100000,
        "printCardPaymentDetails": True,
        "sendInvoicesExternally": False,
    },
    "app_settings": {"showOutOfStockWarning": True},
    "extensions": [
        {"extensionCode": "VIPPS", "name": "Vipps", "active": True},
        {"extensionCode": "ADYEN_POS", "name": "Adyen terminals", "active": True},
        {"extensionCode": "FLOWGIFTCARD", "name": "Gift cards", "active": True},
    ],
}

OSLO = StoreSpec(
    uid="demo-store-oslo",
    name="Nordlys Sport Oslo Karl Johan",
    address="Karl Johans gate 12",
    postal_code="0154",
    city="Oslo",
    latitude=59.9127,
    longitude=10.7461,
    phone="+47 22 00 00 10",
    email="oslo@nordlys.example",
    tills=(
        (1, "Kasse 1", PaymentTerminal.ADYEN),
        (2, "Kasse 2", PaymentTerminal.ADYEN),
        (3, "Kasse 3", PaymentTerminal.ADYEN),
        (4, "Kasse 4 (ledig)", PaymentTerminal.NONE),
    ),
    terminal_setting=("ADYEN_POS_TERMINAL_ID", "V400m-3245"),
)
BERGEN = StoreSpec(
    uid="demo-store-bergen",
    name="Nordlys Sport Bergen Torgallmenningen",
    address="Torgallmenningen 8",
    postal_code="5014",
    city="Bergen",
    latitude=60.3929,
    longitude=5.3241,
    phone="+47 55 00 00 20",
    email="bergen@nordlys.example",
    tills=((1, "Kasse 1", PaymentTerminal.NETS), (2, "Kasse 2", PaymentTerminal.NETS)),
    terminal_setting=("NETS_TERMINAL_ID", "77001234"),
)
TRONDHEIM = StoreSpec(
    uid="demo-store-trondheim",
    name="Nordlys Sport Trondheim Nordre gate",
    address="Nordre gate 10",
    postal_code="7011",
    city="Trondheim",
    latitude=63.4325,
    longitude=10.3951,
    phone="+47 73 00 00 30",
    email="trondheim@nordlys.example",
    tills=((1, "Kasse 1", PaymentTerminal.VERIFONE),),
    terminal_setting=("VERIFONE_TERMINAL_POI_ID", "P400-88812"),
)

ADMIN = UserSpec(
    user_code="admin",
    password=ADMIN_PASSWORD,
    account_type=AccountType.FULL,
    first_name="Ingrid",
    last_name="Haugen",
    email="ingrid.haugen@nordlys.example",
    mobile="90000001",
    all_stores=True,
    permissions=("TENANT.ADMIN",),
)
CASHIER = UserSpec(
    user_code="kari",
    password=CASHIER_PASSWORD,
    account_type=AccountType.REGULAR,
    first_name="Kari",
    last_name="Nordmann",
    email="kari.nordmann@nordlys.example",
    mobile="91234567",
    stores=(OSLO.uid,),
)

NORDLYS = TenantSpec(
    uid="demo-nordlys",
    name="Nordlys Sport AS",
    vat_number="NO987654321MVA",
    stores=(OSLO, BERGEN, TRONDHEIM),
    details=TENANT_DETAILS,
    users=(
        ADMIN,
        UserSpec(
            user_code="ola",
            password=MANAGER_PASSWORD,
            account_type=AccountType.FULL,
            first_name="Ola",
            last_name="Berg",
            email="ola.berg@nordlys.example",
            mobile="90000002",
            stores=(OSLO.uid, BERGEN.uid),
            permissions=("DEVICE",),
            role=("store-manager", "Store manager"),
        ),
        CASHIER,
        UserSpec(
            user_code="per",
            password=CASHIER_PASSWORD,
            account_type=AccountType.REGULAR,
            first_name="Per",
            last_name="Hansen",
            email="per.hansen@nordlys.example",
            mobile="91234568",
            stores=(BERGEN.uid,),
        ),
        UserSpec(
            user_code="sigrid",
            password=CASHIER_PASSWORD,
            account_type=AccountType.REGULAR,
            first_name="Sigrid",
            last_name="Lie",
            email="sigrid.lie@nordlys.example",
            mobile="91234569",
            stores=(TRONDHEIM.uid, OSLO.uid),
        ),
        UserSpec(
            user_code="erp-integration",
            password=INTEGRATION_PASSWORD,
            account_type=AccountType.INTEGRATION,
            first_name="ERP",
            last_name="Integration",
            email="erp@nordlys.example",
            mobile="",
            all_stores=True,
            role=("integration", "Integration"),
        ),
    ),
    devices=(
        DeviceSpec(
            uid="demo-oslo-kasse-1",
            name="Oslo Kasse 1",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.ACTIVE,
            store_uid=OSLO.uid,
            till_uid=till_uid(OSLO.uid, 1),
            printer_uids=("demo-store-oslo-receipt", "demo-store-oslo-label"),
            settings=(("receipt.copies", "1"), ("ui.theme", "light")),
            system_information="Windows 11 Pro 23H2; Flow Retail Client 4.12.0",
        ),
        DeviceSpec(
            uid="demo-oslo-kasse-2",
            name="Oslo Kasse 2",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.READY_TO_LINK,
            store_uid=OSLO.uid,
            till_uid=till_uid(OSLO.uid, 2),
            printer_uids=("demo-store-oslo-receipt",),
        ),
        DeviceSpec(
            uid="demo-oslo-kasse-3",
            name="Oslo Kasse 3",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.BLOCKED,
            store_uid=OSLO.uid,
            till_uid=till_uid(OSLO.uid, 3),
            system_information="Windows 10 IoT; Flow Retail Client 4.9.2",
        ),
        DeviceSpec(
            uid="demo-oslo-ipad-1",
            name="Oslo iPad salgsassistent",
            app_code=AppCode.ASSISTANT,
            status=DeviceStatus.ACTIVE,
            store_uid=OSLO.uid,
            vendor="Apple",
            model_number="iPad (10th generation)",
            system_information="iPadOS 17.5; Flow Retail Assistant 2.3.1",
        ),
        DeviceSpec(
            uid="demo-oslo-terminal-1",
            name="Oslo POS-terminal 1",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.READY_TO_LINK,
            store_uid=OSLO.uid,
            vendor="Sunmi",
            model_number="T2s",
            mac_address="02:00:5E:10:00:01",
            external_device_id="SUNMI-T2S-0001",
        ),
        DeviceSpec(
            uid="demo-bergen-kasse-1",
            name="Bergen Kasse 1",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.ACTIVE,
            store_uid=BERGEN.uid,
            till_uid=till_uid(BERGEN.uid, 1),
            vendor="Sunmi",
            model_number="T2s",
            mac_address="02:00:5E:10:00:02",
            external_device_id="SUNMI-T2S-0002",
            system_information="Android 11; Flow Retail Client 4.12.0",
        ),
        DeviceSpec(
            uid="demo-bergen-kasse-2",
            name="Bergen Kasse 2",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.READY_TO_LINK,
            store_uid=BERGEN.uid,
            till_uid=till_uid(BERGEN.uid, 2),
        ),
        DeviceSpec(
            uid="demo-trondheim-kasse-1",
            name="Trondheim Kasse 1",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.BLOCKED,
            store_uid=TRONDHEIM.uid,
            till_uid=till_uid(TRONDHEIM.uid, 1),
            system_information="Windows 11 Pro; Flow Retail Client 4.11.3",
        ),
        DeviceSpec(
            uid="demo-spare-laptop",
            name="Reserve-PC (ikke plassert)",
            app_code=AppCode.UNKNOWN,
            status=DeviceStatus.READY_TO_LINK,
            store_uid=None,
        ),
    ),
)

READY_DEVICE_UID = "demo-oslo-kasse-2"
COMMERCE_DEVICE_UID = "demo-oslo-terminal-1"
FREE_TILL_UID = till_uid(OSLO.uid, 4)

FJELL_STORE = StoreSpec(
    uid="demo-fjell-store-tromso",
    name="Fjellhandel Tromsø",
    address="Storgata 90",
    postal_code="9008",
    city="Tromsø",
    latitude=69.6489,
    longitude=18.9551,
    phone="+47 77 00 00 40",
    email="tromso@fjellhandel.example",
    tills=((1, "Kasse 1", PaymentTerminal.NETS),),
)
OTHER_ADMIN = UserSpec(
    user_code="fjell-admin",
    password=OTHER_ADMIN_PASSWORD,
    account_type=AccountType.FULL,
    first_name="Nils",
    last_name="Eriksen",
    email="nils.eriksen@fjellhandel.example",
    mobile="90000091",
    all_stores=True,
    permissions=("TENANT.ADMIN",),
)
FJELL = TenantSpec(
    uid="demo-fjellhandel",
    name="Fjellhandel AS",
    vat_number="NO912345678MVA",
    stores=(FJELL_STORE,),
    details={"currency_name": "Norwegian krone", "currency_symbol": "kr"},
    users=(OTHER_ADMIN,),
    devices=(
        DeviceSpec(
            uid="demo-fjell-kasse-1",
            name="Tromsø Kasse 1",
            app_code=AppCode.CLIENT,
            status=DeviceStatus.ACTIVE,
            store_uid=FJELL_STORE.uid,
            till_uid=till_uid(FJELL_STORE.uid, 1),
            system_information="Windows 11 Pro; Flow Retail Client 4.12.0",
        ),
    ),
)

OPENING_HOURS = {
    OSLO.uid: _hours("10:00-20:00", "10:00-18:00"),
    BERGEN.uid: _hours("09:00-20:00", "09:00-18:00"),
    TRONDHEIM.uid: _hours("10:00-19:00", "10:00-17:00"),
    FJELL_STORE.uid: _hours("10:00-18:00", "10:00-16:00"),
}

# (code, name, visibility, zero-amount, requirements)
PAYMENT_METHODS: tuple[tuple[PaymentCode, str, PaymentVisibility, bool], ...] = (
    (PaymentCode.CASH, "Kontant", PaymentVisibility.FEATURED, False),
    (PaymentCode.ADYEN_CARD, "Bankkort", PaymentVisibility.FEATURED, False),
    (PaymentCode.VIPPS, "Vipps", PaymentVisibility.FEATURED, False),
    (PaymentCode.FLOWGIFTCARD, "Gavekort", PaymentVisibility.LISTED, False),
    (PaymentCode.INVOICE, "Faktura", PaymentVisibility.LISTED, False),
    (PaymentCode.EXTERNAL, "Nullsalg", PaymentVisibility.HIDDEN, True),
)

REASONS: tuple[tuple[ReasonKind, str, str], ...] = (
    (ReasonKind.DISCOUNT, "STAFF", "Personalrabatt"),
    (ReasonKind.DISCOUNT, "DAMAGED", "Skadet vare"),
    (ReasonKind.DISCOUNT, "PRICE_MATCH", "Prismatch"),
    (ReasonKind.RETURN, "WRONG_SIZE", "Feil størrelse"),
    (ReasonKind.RETURN, "DEFECTIVE", "Defekt vare"),
    (ReasonKind.RETURN, "CHANGED_MIND", "Angrerett"),
)

# NOK in øre: 1, 5, 10, 20 kroner coins; 50 to 1000 kroner notes.
DENOMINATIONS: tuple[tuple[int, DenominationMaterial], ...] = (
    (100, DenominationMaterial.COIN),
    (500, DenominationMaterial.COIN),
    (1000, DenominationMaterial.COIN),
    (2000, DenominationMaterial.COIN),
    (5000, DenominationMaterial.NOTE),
    (10000, DenominationMaterial.NOTE),
    (20000, DenominationMaterial.NOTE),
    (50000, DenominationMaterial.NOTE),
    (100000, DenominationMaterial.NOTE),
)

SETTING_DEFINITIONS: tuple[dict[str, Any], ...] = (
    {
        "key": "receipt.copies",
        "name": "Receipt copies",
        "type": SettingType.INTEGER,
        "default_value": "1",
        "required": True,
    },
    {
        "key": "ui.theme",
        "name": "Screen theme",
        "type": SettingType.ENUM,
        "allowed_values": ["light", "dark"],
        "default_value": "light",
    },
    {"key": "scale.enabled", "name": "Scale attached", "type": SettingType.BOOL},
    {
        "key": "display.brightness",
        "name": "Customer display brightness",
        "type": SettingType.DECIMAL,
    },
    {
        "key": "receipt.footer",
        "name": "Receipt footer",
        "type": SettingType.STRING,
        "validation_regex": r"^.{0,80}$",
        "default_value": "Takk for handelen!",
    },
)

PRINTERS: tuple[tuple[str, str, PrinterType], ...] = (
    ("receipt", "Epson TM-m30III kvitteringsskriver", PrinterType.RECEIPT),
    ("label", "Zebra ZD421 etikettskriver", PrinterType.LABEL),
)
