"""Tenants and everything they own: stores, tills, printers, payment methods, reasons,
currency denominations, device setting definitions; plus the registries of POS apps (Flow's
``appId``) and device-flow clients (``clientId``) shared by every tenant.

``create_*`` validates and raises :class:`~posfleet.errors.ValidationFailed` or
:class:`~posfleet.errors.Conflict`; ``get_*`` raises :class:`~posfleet.errors.NotFound`;
``find_*`` answers ``None``.  Every lookup of a tenant's row is scoped to that tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound, ValidationFailed
from posfleet.models import (
    Base,
    CurrencyDenomination,
    Device,
    DeviceFlowClient,
    DeviceSettingDefinition,
    Printer,
    Reason,
    RegisteredApp,
    Store,
    StorePaymentMethod,
    Tenant,
    Till,
)
from posfleet.models.base import UID_LENGTH, UID_PATTERN
from posfleet.models.enums import (
    AppCode,
    DenominationMaterial,
    PaymentCode,
    PaymentTerminal,
    PrinterType,
    ReasonKind,
    SettingType,
)
from posfleet.tenants.repository import TenantRepository

_UID = re.compile(UID_PATTERN)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _id_of(tenant: Tenant | int) -> int:
    return tenant if isinstance(tenant, int) else tenant.id


def check_uid(uid: str) -> str | None:
    """Why ``uid`` is not a valid UID (Flow's ``^[A-Za-z0-9-_]+``, at most 64), or ``None``."""
    if not uid or len(uid) > UID_LENGTH or not _UID.match(uid):
        return f"must be 1 to {UID_LENGTH} letters, digits, '-' or '_'"
    return None


def _fail(what: str, errors: dict[str, str]) -> None:
    if errors:
        raise ValidationFailed(
            f"Invalid {what}: " + "; ".join(f"{k} {v}" for k, v in errors.items()), errors=errors
        )


def _apply(row: Base, details: dict[str, Any], what: str) -> None:
    unknown = sorted(k for k in details if k.startswith("_") or not hasattr(type(row), k))
    if unknown:
        _fail(what, dict.fromkeys(unknown, "is not a field"))
    for key, value in details.items():
        setattr(row, key, value)


def _enum(kind: type[Any], value: str, field: str, errors: dict[str, str]) -> Any:
    try:
        return kind(value)
    except ValueError:
        errors[field] = "must be one of " + ", ".join(m.value for m in kind)
        return value


class TenantService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)

    # Tenants -----------------------------------------------------------------------------

    async def create_tenant(
        self,
        *,
        name: str,
        uid: str | None = None,
        country_code: str = "NO",
        currency_code: str = "NOK",
        language_code: str = "nb",
        timezone: str = "Europe/Oslo",
        **details: Any,
    ) -> Tenant:
        errors: dict[str, str] = {}
        if not name.strip():
            errors["name"] = "must not be empty"
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        if not _COUNTRY.match(country_code):
            errors["countryCode"] = "must be an ISO 3166-1 alpha-2 code such as NO"
        if not _CURRENCY.match(currency_code):
            errors["currencyCode"] = "must be an ISO 4217 code such as NOK"
        if not _LANGUAGE.match(language_code):
            errors["languageCode"] = "must be an ISO 639-1 code such as nb"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = "must be a tz database name such as Europe/Oslo"
        _fail("tenant", errors)
        if uid is not None and await self.repository.tenant_by_uid(uid) is not None:
            raise Conflict(f"Tenant {uid!r} already exists")
        tenant = Tenant(
            name=name.strip(),
            country_code=country_code,
            currency_code=currency_code,
            language_code=language_code,
            timezone=timezone,
        )
        if uid is not None:
            tenant.uid = uid
        _apply(tenant, details, "tenant")
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

    async def delete_tenant(self, tenant: Tenant) -> None:
        """Delete the tenant and, by cascade, everything it owns."""
        await self.repository.delete(tenant)

    # Stores ------------------------------------------------------------------------------

    async def create_store(
        self, tenant: Tenant, *, name: str, uid: str | None = None, **details: Any
    ) -> Store:
        errors: dict[str, str] = {}
        if not name.strip():
            errors["name"] = "must not be empty"
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        _fail("store", errors)
        if uid is not None and await self.repository.store_by_uid(tenant.id, uid) is not None:
            raise Conflict(f"Store {uid!r} already exists in this tenant")
        store = Store(tenant_id=tenant.id, name=name.strip(), country_code=tenant.country_code)
        if uid is not None:
            store.uid = uid
        _apply(store, details, "store")
        return await self.repository.add(store)

    async def find_store(self, tenant: Tenant | int, uid: str) -> Store | None:
        return await self.repository.store_by_uid(_id_of(tenant), uid)

    async def get_store(self, tenant: Tenant, uid: str) -> Store:
        store = await self.repository.store_by_uid(tenant.id, uid)
        if store is None:
            raise NotFound(f"No store {uid!r} in this tenant")
        return store

    async def get_store_by_id(self, tenant: Tenant | int, store_id: int) -> Store:
        tenant_id = tenant if isinstance(tenant, int) else tenant.id
        store = await self.repository.store_by_id(tenant_id, store_id)
        if store is None:
            raise NotFound("No such store in this tenant")
        return store

    async def list_stores(self, tenant: Tenant) -> Sequence[Store]:
        return await self.repository.stores(tenant.id)

    async def delete_store(self, store: Store) -> None:
        """Delete the store, its tills and payment methods; its devices stay, without a store."""
        await self.repository.delete(store)

    # Tills -------------------------------------------------------------------------------

    async def create_till(
        self,
        store: Store,
        *,
        number: int,
        name: str = "",
        uid: str | None = None,
        payment_terminal: PaymentTerminal | str = PaymentTerminal.NONE,
        **details: Any,
    ) -> Till:
        errors: dict[str, str] = {}
        if number < 1:
            errors["number"] = "must be 1 or more"
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        terminal = _enum(PaymentTerminal, str(payment_terminal), "paymentTerminal", errors)
        _fail("till", errors)
        if await self.repository.till_by_number(store.id, number) is not None:
            raise Conflict(f"Till number {number} is already used in store {store.uid!r}")
        if uid is not None and await self.repository.till_by_uid(store.tenant_id, uid) is not None:
            raise Conflict(f"Till {uid!r} already exists in this tenant")
        till = Till(
            tenant_id=store.tenant_id,
            store_id=store.id,
            number=number,
            name=name.strip() or f"Till {number}",
            payment_terminal=terminal,
        )
        if uid is not None:
            till.uid = uid
        _apply(till, details, "till")
        return await self.repository.add(till)

    async def find_till(self, tenant: Tenant | int, uid: str) -> Till | None:
        return await self.repository.till_by_uid(_id_of(tenant), uid)

    async def get_till(self, tenant: Tenant, uid: str) -> Till:
        till = await self.repository.till_by_uid(tenant.id, uid)
        if till is None:
            raise NotFound(f"No till {uid!r} in this tenant")
        return till

    async def get_till_by_id(self, tenant: Tenant | int, till_id: int) -> Till:
        tenant_id = tenant if isinstance(tenant, int) else tenant.id
        till = await self.repository.till_by_id(tenant_id, till_id)
        if till is None:
            raise NotFound("No such till in this tenant")
        return till

    async def list_tills(self, tenant: Tenant, store: Store | None = None) -> Sequence[Till]:
        return await self.repository.tills(tenant.id, store.id if store else None)

    # Printers ----------------------------------------------------------------------------

    async def create_printer(
        self,
        tenant: Tenant,
        *,
        name: str,
        type: PrinterType | str,
        store: Store | None = None,
        uid: str | None = None,
    ) -> Printer:
        errors: dict[str, str] = {}
        if not name.strip():
            errors["name"] = "must not be empty"
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        kind = _enum(PrinterType, str(type), "type", errors)
        if store is not None and store.tenant_id != tenant.id:
            errors["store"] = "belongs to another tenant"
        _fail("printer", errors)
        if uid is not None and await self.repository.printer_by_uid(tenant.id, uid) is not None:
            raise Conflict(f"Printer {uid!r} already exists in this tenant")
        printer = Printer(
            tenant_id=tenant.id, store_id=store.id if store else None, name=name, type=kind
        )
        if uid is not None:
            printer.uid = uid
        return await self.repository.add(printer)

    async def find_printer(self, tenant: Tenant, uid: str) -> Printer | None:
        return await self.repository.printer_by_uid(tenant.id, uid)

    async def get_printers(self, tenant: Tenant | int, uids: Iterable[str]) -> list[Printer]:
        """The tenant's printers with these uids, in the order given; any unknown is NotFound."""
        tenant_id = tenant if isinstance(tenant, int) else tenant.id
        wanted = list(dict.fromkeys(uids))
        found = {p.uid: p for p in await self.repository.printers_by_uids(tenant_id, wanted)}
        missing = [uid for uid in wanted if uid not in found]
        if missing:
            raise NotFound("No printer " + ", ".join(repr(m) for m in missing) + " in this tenant")
        return [found[uid] for uid in wanted]

    async def list_printers(self, tenant: Tenant, store: Store | None = None) -> Sequence[Printer]:
        return await self.repository.printers(tenant.id, store.id if store else None)

    # Payment methods ---------------------------------------------------------------------

    async def create_payment_method(
        self,
        store: Store,
        *,
        code: PaymentCode | str,
        name: str,
        uid: str | None = None,
        is_zero_amount: bool = False,
        **details: Any,
    ) -> StorePaymentMethod:
        errors: dict[str, str] = {}
        payment_code = _enum(PaymentCode, str(code), "code", errors)
        if not name.strip():
            errors["name"] = "must not be empty"
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        _fail("payment method", errors)
        if is_zero_amount and any(
            m.is_zero_amount
            for m in await self.repository.payment_methods(store.tenant_id, store.id)
        ):
            raise Conflict(f"Store {store.uid!r} already has a zero-amount payment method")
        if (
            uid is not None
            and await self.repository.payment_method_by_uid(store.tenant_id, uid) is not None
        ):
            raise Conflict(f"Payment method {uid!r} already exists in this tenant")
        method = StorePaymentMethod(
            tenant_id=store.tenant_id,
            store_id=store.id,
            code=payment_code,
            name=name,
            is_zero_amount=is_zero_amount,
        )
        if uid is not None:
            method.uid = uid
        _apply(method, details, "payment method")
        return await self.repository.add(method)

    async def find_payment_method(self, tenant: Tenant, uid: str) -> StorePaymentMethod | None:
        return await self.repository.payment_method_by_uid(tenant.id, uid)

    async def list_payment_methods(self, store: Store) -> Sequence[StorePaymentMethod]:
        return await self.repository.payment_methods(store.tenant_id, store.id)

    # Reasons, denominations, setting definitions -----------------------------------------

    async def create_reason(
        self,
        tenant: Tenant,
        *,
        kind: ReasonKind | str,
        code: str,
        description: str = "",
        position: int = 0,
    ) -> Reason:
        errors: dict[str, str] = {}
        reason_kind = _enum(ReasonKind, str(kind), "kind", errors)
        if not code.strip():
            errors["code"] = "must not be empty"
        _fail("reason", errors)
        if await self.repository.reason(tenant.id, reason_kind, code) is not None:
            raise Conflict(f"{reason_kind} reason {code!r} already exists")
        return await self.repository.add(
            Reason(
                tenant_id=tenant.id,
                kind=reason_kind,
                code=code,
                description=description,
                position=position,
            )
        )

    async def find_reason(self, tenant: Tenant, kind: ReasonKind, code: str) -> Reason | None:
        return await self.repository.reason(tenant.id, kind, code)

    async def list_reasons(
        self, tenant: Tenant | int, kind: ReasonKind | None = None
    ) -> Sequence[Reason]:
        return await self.repository.reasons(tenant if isinstance(tenant, int) else tenant.id, kind)

    async def add_denomination(
        self,
        tenant: Tenant,
        *,
        denomination: int,
        material: DenominationMaterial | str,
        currency_code: str | None = None,
    ) -> CurrencyDenomination:
        """A coin or note of the tenant's currency (or ``currency_code``), in minor units."""
        errors: dict[str, str] = {}
        currency = currency_code or tenant.currency_code
        kind = _enum(DenominationMaterial, str(material), "material", errors)
        if denomination < 1:
            errors["denomination"] = "must be 1 or more (minor units)"
        if not _CURRENCY.match(currency):
            errors["currencyCode"] = "must be an ISO 4217 code such as NOK"
        _fail("denomination", errors)
        if await self.repository.denomination(tenant.id, currency, denomination, kind) is not None:
            raise Conflict(f"{currency} {kind.lower()} {denomination} already exists")
        return await self.repository.add(
            CurrencyDenomination(
                tenant_id=tenant.id,
                currency_code=currency,
                denomination=denomination,
                material=kind,
            )
        )

    async def find_denomination(
        self, tenant: Tenant, denomination: int, material: DenominationMaterial
    ) -> CurrencyDenomination | None:
        return await self.repository.denomination(
            tenant.id, tenant.currency_code, denomination, material
        )

    async def list_denominations(self, tenant: Tenant) -> Sequence[CurrencyDenomination]:
        return await self.repository.denominations(tenant.id)

    async def define_setting(
        self,
        tenant: Tenant,
        *,
        key: str,
        name: str,
        type: SettingType | str,
        allowed_values: Sequence[str] = (),
        validation_regex: str = "",
        required: bool = False,
        default_value: str = "",
    ) -> DeviceSettingDefinition:
        errors: dict[str, str] = {}
        setting_type = _enum(SettingType, str(type), "type", errors)
        if not key.strip():
            errors["key"] = "must not be empty"
        if setting_type == SettingType.ENUM and not allowed_values:
            errors["allowedValues"] = "must list the values of an ENUM setting"
        if validation_regex:
            try:
                re.compile(validation_regex)
            except re.error as exc:
                errors["validationRegex"] = f"is not a regular expression ({exc})"
        _fail("setting definition", errors)
        if await self.repository.setting_definition(tenant.id, key) is not None:
            raise Conflict(f"Setting {key!r} is already defined")
        return await self.repository.add(
            DeviceSettingDefinition(
                tenant_id=tenant.id,
                key=key,
                name=name or key,
                type=setting_type,
                allowed_values=list(allowed_values),
                validation_regex=validation_regex,
                required=required,
                default_value=default_value,
            )
        )

    async def find_setting_definition(
        self, tenant: Tenant | int, key: str
    ) -> DeviceSettingDefinition | None:
        return await self.repository.setting_definition(
            tenant if isinstance(tenant, int) else tenant.id, key
        )

    async def list_setting_definitions(
        self, tenant: Tenant | int
    ) -> Sequence[DeviceSettingDefinition]:
        return await self.repository.setting_definitions(
            tenant if isinstance(tenant, int) else tenant.id
        )

    # Registered apps and device-flow clients (shared by all tenants) ---------------------

    async def register_app(
        self, *, app_id: str, name: str, app_code: AppCode | str
    ) -> RegisteredApp:
        errors: dict[str, str] = {}
        code = _enum(AppCode, str(app_code), "appCode", errors)
        if not app_id.strip() or len(app_id) > 100:
            errors["appId"] = "must be 1 to 100 characters"
        _fail("app", errors)
        if await self.repository.registered_app(app_id) is not None:
            raise Conflict(f"App {app_id!r} is already registered")
        return await self.repository.add(
            RegisteredApp(app_id=app_id, name=name or app_id, app_code=code)
        )

    async def find_app(self, app_id: str) -> RegisteredApp | None:
        return await self.repository.registered_app(app_id)

    async def list_apps(self) -> Sequence[RegisteredApp]:
        return await self.repository.registered_apps()

    async def create_device_flow_client(
        self, *, client_id: str, name: str, app_code: AppCode | str = AppCode.CLIENT
    ) -> DeviceFlowClient:
        errors: dict[str, str] = {}
        code = _enum(AppCode, str(app_code), "appCode", errors)
        if not client_id.strip() or len(client_id) > 100:
            errors["clientId"] = "must be 1 to 100 characters"
        _fail("device-flow client", errors)
        if await self.repository.device_flow_client(client_id) is not None:
            raise Conflict(f"Client {client_id!r} already exists")
        return await self.repository.add(
            DeviceFlowClient(client_id=client_id, name=name or client_id, app_code=code)
        )

    async def find_device_flow_client(self, client_id: str) -> DeviceFlowClient | None:
        return await self.repository.device_flow_client(client_id)

    async def device_flow_client_by_id(self, row_id: int) -> DeviceFlowClient | None:
        return await self.repository.device_flow_client_by_id(row_id)

    async def list_device_flow_clients(self) -> Sequence[DeviceFlowClient]:
        return await self.repository.device_flow_clients()

    # The fleet at a glance ---------------------------------------------------------------

    async def device_overview(
        self, tenant: Tenant, store: Store | None = None
    ) -> Sequence[tuple[Device, str | None, int | None]]:
        """Every device of the tenant (or of one store) with its store name and till number."""
        return await self.repository.device_overview(tenant.id, store.id if store else None)
