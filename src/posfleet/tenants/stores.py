"""Stores, their tills, and the tenant's printers.

A store created without options can serve a linked device at once: unless the caller opts
out, it gets the default payment methods of :mod:`.payments` (a listed CASH method and the
zero-amount method DeviceInfo needs) and the tenant's country.  A till number is unique in its
store; a printer belongs to the tenant or to one of its stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import Printer, Store, Till
from posfleet.models.enums import PaymentTerminal, PrinterType
from posfleet.tenants.fields import Country, Fields, Name, OptionalUid, Uid
from posfleet.tenants.payments import PaymentCatalogService
from posfleet.tenants.repository import TenantRepository
from posfleet.tenants.service import TenantService, apply, check_new_uid, require

_TEXT = 300


class StoreFields(Fields):
    name: Name = ""
    organization_uid: OptionalUid = ""
    external_id: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=_TEXT)
    postal_code: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    country_code: Country = "NO"
    email: str = Field(default="", max_length=320)
    phone: str = Field(default="", max_length=40)
    website_url: str = Field(default="", max_length=500)
    latitude: float = Field(default=0.0, ge=-90, le=90)
    longitude: float = Field(default=0.0, ge=-180, le=180)
    vat_number: str = Field(default="", max_length=40)
    is_active: bool = True
    has_workshop: bool = False
    opening_hours: dict[str, Any] = Field(default_factory=dict)
    bank_info: dict[str, Any] = Field(default_factory=dict)
    settings: list[dict[str, Any]] = Field(default_factory=list)
    available_extensions: list[dict[str, Any]] = Field(default_factory=list)
    default_warehouse_uid: OptionalUid = ""
    default_return_warehouse_uid: OptionalUid = ""
    default_delivery_warehouse_uid: OptionalUid = ""
    purchase_number_series_uid: OptionalUid = ""
    internal_purchase_number_series_uid: OptionalUid = ""
    rma_order_number_series_uid: OptionalUid = ""
    customer_ledger_number_series_uid: OptionalUid = ""
    voucher_number_series_uid: OptionalUid = ""
    service_number_series_uid: OptionalUid = ""
    quicksale_category_uid: OptionalUid = ""
    sales_price_uid: OptionalUid = ""
    receipt_message: str = Field(default="", max_length=2000)
    email_receipt_message: str = Field(default="", max_length=2000)
    exchangenote_message: str = Field(default="", max_length=2000)
    exchangenote_valid_days: int = Field(default=30, ge=0, le=3650)


class TillFields(Fields):
    number: int = Field(default=0, ge=1, le=1_000_000)
    name: str = Field(default="", max_length=200)
    payment_terminal: PaymentTerminal = PaymentTerminal.NONE
    barcode_printer: str = Field(default="", max_length=200)
    cash_drawer: str = Field(default="", max_length=200)
    receipt_printer: str = Field(default="", max_length=200)
    regular_printer: str = Field(default="", max_length=200)
    settings: list[dict[str, Any]] = Field(default_factory=list)
    app_settings: dict[str, Any] = Field(default_factory=dict)


class PrinterFields(Fields):
    name: Name = ""
    type: PrinterType = PrinterType.RECEIPT


class StoreService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = TenantRepository(session)
        self.tenants = TenantService(session)
        self.payments = PaymentCatalogService(session)

    # Stores ------------------------------------------------------------------------------

    async def create_store(
        self,
        tenant_id: int,
        fields: StoreFields,
        *,
        uid: Uid | None = None,
        default_payment_methods: bool = True,
    ) -> Store:
        """A new store; by default with the payment methods a device needs (see module doc)."""
        require(fields, "name")
        check_new_uid("store", uid)
        if uid is not None and await self.repository.store_by_uid(tenant_id, uid) is not None:
            raise Conflict(f"Store {uid!r} already exists in this tenant")
        values = fields.values()
        if "country_code" not in fields.model_fields_set:
            values["country_code"] = (await self.tenants.get_tenant_by_id(tenant_id)).country_code
        store = Store(tenant_id=tenant_id)
        apply(store, values)
        if uid is not None:
            store.uid = uid
        await self.repository.add(store)
        if default_payment_methods:
            await self.payments.add_defaults(tenant_id, store)
        return store

    async def find_store(self, tenant_id: int, uid: str) -> Store | None:
        return await self.repository.store_by_uid(tenant_id, uid)

    async def get_store(self, tenant_id: int, uid: str) -> Store:
        store = await self.repository.store_by_uid(tenant_id, uid)
        if store is None:
            raise NotFound(f"No store {uid!r} in this tenant")
        return store

    async def get_store_by_id(self, tenant_id: int, store_id: int) -> Store:
        store = await self.repository.store_by_id(tenant_id, store_id)
        if store is None:
            raise NotFound("No such store in this tenant")
        return store

    async def list_stores(self, tenant_id: int) -> Sequence[Store]:
        return await self.repository.stores(tenant_id)

    async def page_stores(self, tenant_id: int, page: PageRequest) -> Page[Store]:
        return await self.repository.page(self.repository.stores_query(tenant_id), page)

    async def update_store(self, tenant_id: int, uid: str, changes: StoreFields) -> Store:
        store = await self.get_store(tenant_id, uid)
        apply(store, changes.given())
        await self.repository.flush()
        return store

    async def delete_store(self, tenant_id: int, uid: str) -> None:
        """Delete the store, its tills and payment methods; its devices stay, without a store."""
        await self.repository.delete(await self.get_store(tenant_id, uid))

    # Tills -------------------------------------------------------------------------------

    async def create_till(
        self, tenant_id: int, store_uid: str, fields: TillFields, *, uid: Uid | None = None
    ) -> Till:
        require(fields, "number")
        check_new_uid("till", uid)
        store = await self.get_store(tenant_id, store_uid)
        await self._number_free(store, fields.number)
        if uid is not None and await self.repository.till_by_uid(tenant_id, uid) is not None:
            raise Conflict(f"Till {uid!r} already exists in this tenant")
        till = Till(tenant_id=tenant_id, store_id=store.id)
        apply(till, fields.values())
        till.name = fields.name.strip() or f"Till {fields.number}"
        if uid is not None:
            till.uid = uid
        return await self.repository.add(till)

    async def _number_free(self, store: Store, number: int) -> None:
        if await self.repository.till_by_number(store.id, number) is not None:
            raise Conflict(f"Till number {number} is already used in store {store.uid!r}")

    async def find_till(self, tenant_id: int, uid: str) -> Till | None:
        return await self.repository.till_by_uid(tenant_id, uid)

    async def get_till(self, tenant_id: int, uid: str) -> Till:
        till = await self.repository.till_by_uid(tenant_id, uid)
        if till is None:
            raise NotFound(f"No till {uid!r} in this tenant")
        return till

    async def get_till_by_id(self, tenant_id: int, till_id: int) -> Till:
        till = await self.repository.till_by_id(tenant_id, till_id)
        if till is None:
            raise NotFound("No such till in this tenant")
        return till

    async def list_tills(self, tenant_id: int, store_uid: str | None = None) -> Sequence[Till]:
        store = await self.get_store(tenant_id, store_uid) if store_uid else None
        return await self.repository.tills(tenant_id, store.id if store else None)

    async def page_tills(self, tenant_id: int, store_uid: str, page: PageRequest) -> Page[Till]:
        store = await self.get_store(tenant_id, store_uid)
        return await self.repository.page(self.repository.tills_query(tenant_id, store.id), page)

    async def update_till(self, tenant_id: int, uid: str, changes: TillFields) -> Till:
        till = await self.get_till(tenant_id, uid)
        given = changes.given()
        if "number" in given and given["number"] != till.number:
            await self._number_free(
                await self.get_store_by_id(tenant_id, till.store_id), given["number"]
            )
        if "name" in given and not given["name"].strip():
            given["name"] = f"Till {given.get('number', till.number)}"
        apply(till, given)
        await self.repository.flush()
        return till

    async def delete_till(self, tenant_id: int, uid: str) -> None:
        """Delete the till; a device bound to it stays in its store, without a till."""
        await self.repository.delete(await self.get_till(tenant_id, uid))

    # Printers ----------------------------------------------------------------------------

    async def create_printer(
        self,
        tenant_id: int,
        fields: PrinterFields,
        *,
        store_uid: str | None = None,
        uid: Uid | None = None,
    ) -> Printer:
        """A printer of the tenant, or of one of its stores when ``store_uid`` is given."""
        require(fields, "name")
        check_new_uid("printer", uid)
        store = await self.get_store(tenant_id, store_uid) if store_uid else None
        if uid is not None and await self.repository.printer_by_uid(tenant_id, uid) is not None:
            raise Conflict(f"Printer {uid!r} already exists in this tenant")
        printer = Printer(tenant_id=tenant_id, store_id=store.id if store else None)
        apply(printer, fields.values())
        if uid is not None:
            printer.uid = uid
        return await self.repository.add(printer)

    async def find_printer(self, tenant_id: int, uid: str) -> Printer | None:
        return await self.repository.printer_by_uid(tenant_id, uid)

    async def get_printer(self, tenant_id: int, uid: str) -> Printer:
        printer = await self.repository.printer_by_uid(tenant_id, uid)
        if printer is None:
            raise NotFound(f"No printer {uid!r} in this tenant")
        return printer

    async def get_printers(self, tenant_id: int, uids: Iterable[str]) -> list[Printer]:
        """The tenant's printers with these uids, in the order given; any unknown is NotFound."""
        wanted = list(dict.fromkeys(uids))
        found = {p.uid: p for p in await self.repository.printers_by_uids(tenant_id, wanted)}
        missing = [uid for uid in wanted if uid not in found]
        if missing:
            raise NotFound("No printer " + ", ".join(repr(m) for m in missing) + " in this tenant")
        return [found[uid] for uid in wanted]

    async def list_printers(
        self, tenant_id: int, store_uid: str | None = None
    ) -> Sequence[Printer]:
        store = await self.get_store(tenant_id, store_uid) if store_uid else None
        return await self.repository.printers(tenant_id, store.id if store else None)

    async def page_printers(self, tenant_id: int, page: PageRequest) -> Page[Printer]:
        return await self.repository.page(self.repository.printers_query(tenant_id), page)

    async def update_printer(self, tenant_id: int, uid: str, changes: PrinterFields) -> Printer:
        printer = await self.get_printer(tenant_id, uid)
        apply(printer, changes.given())
        await self.repository.flush()
        return printer

    async def delete_printer(self, tenant_id: int, uid: str) -> None:
        """Delete the printer; devices that used it no longer list it."""
        await self.repository.delete(await self.get_printer(tenant_id, uid))
