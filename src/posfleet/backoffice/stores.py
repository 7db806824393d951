"""Stores, their tills and the tenant's printers: listed with each store's payment methods,
and created.  Fields are checked by the tenant services' own field models (as the API checks
them); only a tenant administrator gets here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from posfleet.backoffice.forms import attempt, checked
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedIn,
    SignedInReader,
    Staff,
    page_router,
    redirect,
    render,
)
from posfleet.errors import ValidationFailed
from posfleet.http import DbSession, ReadSession
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import PrinterType
from posfleet.tenants.payments import PaymentCatalogService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields

router = page_router()

STORES = f"{PREFIX}/stores"
StoreUid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]


async def _page(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    *,
    forms: Mapping[str, Mapping[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    stores = StoreService(db)
    payments = PaymentCatalogService(db)
    tenant_id = staff.tenant.id
    rows = [
        {
            "store": store,
            "tills": await stores.list_tills(tenant_id, store.uid),
            "printers": await stores.list_printers(tenant_id, store.uid),
            "methods": await payments.list_payment_methods(tenant_id, store.id),
        }
        for store in await stores.list_stores(tenant_id)
    ]
    context = {
        "rows": rows,
        "tenant_printers": [p for p in await stores.list_printers(tenant_id) if not p.store_id],
        "printer_types": list(PrinterType),
        "forms": forms or {},
    }
    return render(request, "stores.html", context, staff=staff, status_code=status_code)


async def _create(
    request: Request,
    staff: Staff,
    db: AsyncSession,
    form_name: str,
    values: Mapping[str, str],
    work: Any,
    done: str,
) -> Response:
    errors = await attempt(db, work)
    if errors is None:
        return redirect(request, STORES, flash=done)
    forms = {form_name: {"given": values, "errors": errors}}
    return await _page(request, staff, db, forms=forms, status_code=400)


@router.get("/stores")
async def store_list(request: Request, staff: SignedInReader, db: ReadSession) -> Response:
    staff.require_tenant_admin()
    return await _page(request, staff, db)


@router.post("/stores")
async def create_store(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("name", "address", "postal_code", "city")}

    async def work() -> None:
        await StoreService(db).create_store(staff.tenant.id, checked(StoreFields, values))

    name = values["name"].strip()
    return await _create(request, staff, db, "store", values, work, f"Store {name} created.")


@router.post("/stores/{store_uid}/tills")
async def create_till(
    request: Request, store_uid: StoreUid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    stores = StoreService(db)
    store = await stores.get_store(staff.tenant.id, store_uid)
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("number", "name")}

    async def work() -> None:
        if not values["number"].strip():
            raise ValidationFailed("", errors={"number": "Give the till a number."})
        await stores.create_till(staff.tenant.id, store.uid, checked(TillFields, values))

    return await _create(
        request, staff, db, f"till-{store.uid}", values, work, f"Till added to {store.name}."
    )


@router.post("/printers")
async def create_printer(
    request: Request, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("name", "type", "store")}
    stores = StoreService(db)

    async def work() -> None:
        fields = checked(PrinterFields, {"name": values["name"], "type": values["type"]})
        await stores.create_printer(staff.tenant.id, fields, store_uid=values["store"] or None)

    return await _create(
        request, staff, db, "printer", values, work, f"Printer {values['name'].strip()} added."
    )
