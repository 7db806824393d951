"""A store's payment methods, its zero-amount method among them: added, changed and deleted
through :class:`PaymentCatalogService` with the admin API's field model, so a store keeps at
most one zero-amount method here as there.  Only a tenant administrator gets here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from posfleet.backoffice.forms import attempt, checked
from posfleet.backoffice.web import (
    PREFIX,
    CsrfChecked,
    SignedIn,
    SignedInReader,
    Staff,
    confirm_page,
    page_router,
    redirect,
    render,
)
from posfleet.http import DbSession, ReadSession
from posfleet.models import Store, StorePaymentMethod
from posfleet.models.base import UID_PATTERN
from posfleet.models.enums import PaymentCode, PaymentVisibility
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.stores import StoreService

router = page_router()

STORES = f"{PREFIX}/stores"
Uid = Annotated[str, Path(pattern=UID_PATTERN, max_length=64)]
TEXTS = ("name", "code", "description", "settlement_code", "visibility", "position")
SWITCHES = ("allow_sale", "allow_refund", "allow_cashback", "allow_amount", "is_zero_amount")


def _given(method: StorePaymentMethod | None) -> dict[str, Any]:
    if method is None:
        defaults = PaymentMethodFields()
        values = defaults.values()
    else:
        values = {name: getattr(method, name) for name in (*TEXTS, *SWITCHES)}
    return {
        **{name: str(getattr(values[name], "value", values[name])) for name in TEXTS},
        **{name: bool(values[name]) for name in SWITCHES},
    }


def _values(form: FormData) -> dict[str, Any]:
    return {
        **{name: str(form.get(name, "")).strip() for name in TEXTS},
        **{name: form.get(name) == "on" for name in SWITCHES},
    }


def _fields(values: Mapping[str, Any]) -> PaymentMethodFields:
    position = values["position"] or "0"
    return checked(PaymentMethodFields, {**values, "position": position})


def _form_page(
    request: Request,
    staff: Staff,
    store: Store,
    method: StorePaymentMethod | None,
    form: Mapping[str, Any],
    status_code: int = 200,
) -> Response:
    context = {
        "store": store,
        "method": method,
        "codes": list(PaymentCode),
        "visibilities": list(PaymentVisibility),
        "forms": {"method": form},
    }
    return render(
        request, "stores/payment_method.html", context, staff=staff, status_code=status_code
    )


@router.get("/stores/{store_uid}/payment-methods/new")
async def new_method(
    request: Request, store_uid: Uid, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    store = await StoreService(db).get_store(staff.tenant.id, store_uid)
    return _form_page(request, staff, store, None, {"given": _given(None)})


@router.post("/stores/{store_uid}/payment-methods")
async def create_method(
    request: Request, store_uid: Uid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    store = await StoreService(db).get_store(staff.tenant.id, store_uid)
    values = _values(await request.form())

    async def work() -> None:
        await PaymentCatalogService(db).create_payment_method(
            staff.tenant.id, store.uid, _fields(values)
        )

    errors = await attempt(db, work)
    if errors is None:
        return redirect(
            request, STORES, flash=f"Payment method {values['name']} added to {store.name}."
        )
    form = {"given": values, "errors": errors}
    return _form_page(request, staff, store, None, form, status_code=400)


async def _method_and_store(
    db: AsyncSession, tenant_id: int, uid: str
) -> tuple[StorePaymentMethod, Store]:
    method = await PaymentCatalogService(db).get_payment_method(tenant_id, uid)
    return method, await StoreService(db).get_store_by_id(tenant_id, method.store_id)


@router.get("/payment-methods/{method_uid}/edit")
async def edit_method(
    request: Request, method_uid: Uid, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    method, store = await _method_and_store(db, staff.tenant.id, method_uid)
    return _form_page(request, staff, store, method, {"given": _given(method)})


@router.post("/payment-methods/{method_uid}/edit")
async def save_method(
    request: Request, method_uid: Uid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    method, store = await _method_and_store(db, staff.tenant.id, method_uid)
    values = _values(await request.form())

    async def work() -> None:
        await PaymentCatalogService(db).update_payment_method(
            staff.tenant.id, method.uid, _fields(values)
        )

    errors = await attempt(db, work)
    if errors is None:
        return redirect(request, STORES, flash=f"Payment method {values['name']} saved.")
    await db.refresh(method)
    form = {"given": values, "errors": errors}
    return _form_page(request, staff, store, method, form, status_code=400)


@router.get("/payment-methods/{method_uid}/delete")
async def confirm_delete_method(
    request: Request, method_uid: Uid, staff: SignedInReader, db: ReadSession
) -> Response:
    staff.require_tenant_admin()
    method, store = await _method_and_store(db, staff.tenant.id, method_uid)
    text = f"Tills in {store.name} no longer offer {method.name} from their next DeviceInfo on."
    if method.is_zero_amount:
        text += (
            f" It is the store's zero-amount method: devices in {store.name} are refused their "
            "DeviceInfo until another method of the store is marked zero-amount."
        )
    return confirm_page(
        request,
        staff,
        heading=f"Delete the payment method {method.name} of {store.name}?",
        text=text,
        action=f"{PREFIX}/payment-methods/{method.uid}/delete",
        fields={},
        button="Delete the payment method",
        back=STORES,
    )


@router.post("/payment-methods/{method_uid}/delete")
async def delete_method(
    request: Request, method_uid: Uid, _: CsrfChecked, staff: SignedIn, db: DbSession
) -> Response:
    staff.require_tenant_admin()
    method, store = await _method_and_store(db, staff.tenant.id, method_uid)
    name = method.name
    await PaymentCatalogService(db).delete_payment_method(staff.tenant.id, method.uid)
    return redirect(request, STORES, flash=f"Payment method {name} of {store.name} deleted.")
