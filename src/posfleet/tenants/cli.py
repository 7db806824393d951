"""``posfleet tenant|store|till|printer|payment-method|reason|denomination|setting``: set up
what a tenant owns by hand.  Each command parses, opens one unit of work, calls a tenant
service and prints; any field of a kind can be given with ``--set name=value``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.cli_support import (
    fail,
    in_unit_of_work,
    in_unit_of_work_with_runtime,
    parse_fields,
    show,
    table,
)
from posfleet.deviceflow.access import ClientAccess, ClientAccessService
from posfleet.models.enums import (
    DenominationMaterial,
    PaymentCode,
    PaymentTerminal,
    PrinterType,
    ReasonKind,
    SettingType,
)
from posfleet.runtime import Runtime
from posfleet.tenants import transfer
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.service import TenantFields, TenantService
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields

tenant_app = typer.Typer(help="Tenants (retailers).", no_args_is_help=True)
store_app = typer.Typer(help="Stores of a tenant.", no_args_is_help=True)
till_app = typer.Typer(help="Tills of a store.", no_args_is_help=True)
printer_app = typer.Typer(help="Printers of a tenant or store.", no_args_is_help=True)
payment_app = typer.Typer(help="Payment methods of a store.", no_args_is_help=True)
reason_app = typer.Typer(help="Discount and return reasons.", no_args_is_help=True)
denomination_app = typer.Typer(help="Coins and notes counted in the till.", no_args_is_help=True)
setting_app = typer.Typer(help="Device setting definitions.", no_args_is_help=True)

TenantArg = Annotated[str, typer.Argument(help="The tenant's UID")]
StoreArg = Annotated[str, typer.Argument(help="The store's UID")]
UidOpt = Annotated[str | None, typer.Option(help="UID to give it (default: a random one)")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Any other field as name=value (repeatable; JSON values)"),
]
YesOpt = Annotated[bool, typer.Option("--yes", help="Confirm the deletion")]
CLI_ACTOR = "cli"


def _columns(row: object, model: type[Any], *first: tuple[str, object]) -> dict[str, Any]:
    return {
        **dict(first),
        **{info.alias or f: getattr(row, f) for f, info in model.model_fields.items()},
    }


def _confirm(yes: bool, what: str) -> None:
    if not yes:
        raise fail(f"deleting {what} cannot be undone: add --yes to confirm")


async def _tenant_id(session: AsyncSession, uid: str) -> int:
    return (await TenantService(session).get_tenant(uid)).id


# Tenants ------------------------------------------------------------------------------------


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="Company name, e.g. 'Nordlys Sport AS'")],
    uid: UidOpt = None,
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2")] = "NO",
    currency: Annotated[str, typer.Option(help="ISO 4217")] = "NOK",
    language: Annotated[str, typer.Option(help="ISO 639-1")] = "nb",
    timezone: Annotated[str, typer.Option(help="tz database name")] = "Europe/Oslo",
    vat_number: Annotated[str, typer.Option(help="VAT number")] = "",
    set_: SetOpt = None,
) -> None:
    """Create a tenant."""

    async def work(session: AsyncSession) -> str:
        fields = parse_fields(
            TenantFields,
            set_,
            name=name,
            country_code=country.upper(),
            currency_code=currency.upper(),
            language_code=language.lower(),
            timezone=timezone,
            vat_number=vat_number,
        )
        return (await TenantService(session).create_tenant(fields, uid=uid)).uid

    typer.echo(f"Created tenant {in_unit_of_work(work)}")


@tenant_app.command("list")
def tenant_list() -> None:
    """List every tenant."""

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (t.uid, t.name, t.country_code, t.currency_code)
            for t in await TenantService(session).list_tenants()
        ]

    typer.echo(table(["UID", "NAME", "COUNTRY", "CURRENCY"], in_unit_of_work(work)))


@tenant_app.command("show")
def tenant_show(tenant_uid: TenantArg) -> None:
    """Show a tenant's settings."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        tenant = await TenantService(session).get_tenant(tenant_uid)
        return _columns(
            tenant,
            TenantFields,
            ("uid", tenant.uid),
            # Moves whenever anything a device's DeviceInfo shows changes.
            ("configVersion", tenant.config_version),
        )

    typer.echo(show(in_unit_of_work(work)))


@tenant_app.command("update")
def tenant_update(
    tenant_uid: TenantArg,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    set_: SetOpt = None,
) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        tenants = TenantService(session)
        tenant = await tenants.get_tenant(tenant_uid)
        await tenants.update_tenant(tenant.id, parse_fields(TenantFields, set_, name=name))

    in_unit_of_work(work)
    typer.echo(f"Updated tenant {tenant_uid}")


@tenant_app.command("delete")
def tenant_delete(tenant_uid: TenantArg, yes: YesOpt = False) -> None:
    """Delete a tenant and everything it owns."""
    _confirm(yes, f"tenant {tenant_uid} and everything it owns")

    async def work(session: AsyncSession) -> None:
        tenants = TenantService(session)
        await tenants.delete_tenant((await tenants.get_tenant(tenant_uid)).id)

    in_unit_of_work(work)
    typer.echo(f"Deleted tenant {tenant_uid}")


@tenant_app.command("device-flow-clients")
def tenant_device_flow_clients(
    tenant_uid: TenantArg,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Allow only this client (repeatable; the list replaces the one before)",
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Allow every active client (the default)")
    ] = False,
) -> None:
    """Show, or choose, which device-flow clients the tenant's users may approve devices of."""
    if only and all_:
        raise fail("give either --only CLIENT_ID (repeatable) or --all, not both")

    async def work(session: AsyncSession) -> ClientAccess:
        access = ClientAccessService(session)
        tenant_id = await _tenant_id(session, tenant_uid)
        if only or all_:
            return await access.choose(
                tenant_id, only_listed=bool(only), client_ids=only or [], actor=CLI_ACTOR
            )
        return await access.of_tenant(tenant_id)

    access = in_unit_of_work(work)
    typer.echo(
        "Only the clients marked allowed"
        if access.only_listed
        else "Every active client is allowed"
    )
    rows = [
        (
            c.client.client_id,
            c.client.app_code,
            c.client.name,
            _yes(c.client.is_active),
            _yes(c.allowed),
        )
        for c in access.clients
    ]
    typer.echo(table(["CLIENT ID", "APP CODE", "NAME", "ACTIVE", "ALLOWED"], rows))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


# Stores -------------------------------------------------------------------------------------


@store_app.command("create")
def store_create(
    tenant_uid: TenantArg,
    name: Annotated[str, typer.Argument(help="Store name")],
    uid: UidOpt = None,
    address: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    default_payment_methods: Annotated[
        bool,
        typer.Option(help="Add a CASH method and the zero-amount method devices need"),
    ] = True,
    set_: SetOpt = None,
) -> None:
    """Create a store; by default it can serve a device at once (CASH and zero-amount)."""

    async def work(session: AsyncSession) -> str:
        fields = parse_fields(
            StoreFields,
            set_,
            name=name,
            address=address,
            postal_code=postal_code,
            city=city,
            email=email,
            phone=phone,
        )
        store = await StoreService(session).create_store(
            await _tenant_id(session, tenant_uid),
            fields,
            uid=uid,
            default_payment_methods=default_payment_methods,
        )
        return store.uid

    typer.echo(f"Created store {in_unit_of_work(work)}")


@store_app.command("list")
def store_list(tenant_uid: TenantArg) -> None:
    """List a tenant's stores."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        stores = await StoreService(session).list_stores(await _tenant_id(session, tenant_uid))
        return [(s.uid, s.name, s.city, "yes" if s.is_active else "no") for s in stores]

    typer.echo(table(["UID", "NAME", "CITY", "ACTIVE"], in_unit_of_work(work)))


@store_app.command("show")
def store_show(tenant_uid: TenantArg, store_uid: StoreArg) -> None:
    """Show a store."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        store = await StoreService(session).get_store(
            await _tenant_id(session, tenant_uid), store_uid
        )
        return _columns(store, StoreFields, ("uid", store.uid))

    typer.echo(show(in_unit_of_work(work)))


def _update_store(tenant_uid: str, store_uid: str, fields: StoreFields) -> None:
    async def work(session: AsyncSession) -> None:
        await StoreService(session).update_store(
            await _tenant_id(session, tenant_uid), store_uid, fields
        )

    in_unit_of_work(work)


@store_app.command("update")
def store_update(
    tenant_uid: TenantArg,
    store_uid: StoreArg,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    set_: SetOpt = None,
) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        await StoreService(session).update_store(
            await _tenant_id(session, tenant_uid),
            store_uid,
            parse_fields(StoreFields, set_, name=name),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated store {store_uid}")


@store_app.command("disable")
def store_disable(tenant_uid: TenantArg, store_uid: StoreArg) -> None:
    """Mark a store inactive (it keeps its tills, methods and devices)."""
    _update_store(tenant_uid, store_uid, StoreFields(is_active=False))
    typer.echo(f"Disabled store {store_uid}")


@store_app.command("enable")
def store_enable(tenant_uid: TenantArg, store_uid: StoreArg) -> None:
    """Mark a store active again."""
    _update_store(tenant_uid, store_uid, StoreFields(is_active=True))
    typer.echo(f"Enabled store {store_uid}")


@store_app.command("delete")
def store_delete(tenant_uid: TenantArg, store_uid: StoreArg, yes: YesOpt = False) -> None:
    """Delete a store with its tills and payment methods; its devices stay, without a store."""
    _confirm(yes, f"store {store_uid}")

    async def work(session: AsyncSession) -> None:
        await StoreService(session).delete_store(await _tenant_id(session, tenant_uid), store_uid)

    in_unit_of_work(work)
    typer.echo(f"Deleted store {store_uid}")


# Tills --------------------------------------------------------------------------------------

TillArg = Annotated[str, typer.Argument(help="The till's UID")]


@till_app.command("create")
def till_create(
    tenant_uid: TenantArg,
    store_uid: StoreArg,
    number: Annotated[int, typer.Argument(help="Till number, unique in the store")],
    name: Annotated[str | None, typer.Option(help="Default: 'Till <number>'")] = None,
    uid: UidOpt = None,
    payment_terminal: Annotated[PaymentTerminal | None, typer.Option(case_sensitive=False)] = None,
    set_: SetOpt = None,
) -> None:
    """Create a till in a store."""

    async def work(session: AsyncSession) -> str:
        fields = parse_fields(
            TillFields, set_, number=number, name=name, payment_terminal=payment_terminal
        )
        till = await StoreService(session).create_till(
            await _tenant_id(session, tenant_uid), store_uid, fields, uid=uid
        )
        return till.uid

    typer.echo(f"Created till {in_unit_of_work(work)}")


@till_app.command("list")
def till_list(
    tenant_uid: TenantArg,
    store: Annotated[str | None, typer.Option(help="Only this store's tills")] = None,
) -> None:
    """List a tenant's tills."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        stores = StoreService(session)
        tenant_id = await _tenant_id(session, tenant_uid)
        names = {s.id: s.uid for s in await stores.list_stores(tenant_id)}
        return [
            (t.uid, names.get(t.store_id), t.number, t.name, t.payment_terminal)
            for t in await stores.list_tills(tenant_id, store)
        ]

    typer.echo(table(["UID", "STORE", "NUMBER", "NAME", "TERMINAL"], in_unit_of_work(work)))


@till_app.command("show")
def till_show(tenant_uid: TenantArg, till_uid: TillArg) -> None:
    """Show a till."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        till = await StoreService(session).get_till(await _tenant_id(session, tenant_uid), till_uid)
        return _columns(till, TillFields, ("uid", till.uid))

    typer.echo(show(in_unit_of_work(work)))


@till_app.command("update")
def till_update(
    tenant_uid: TenantArg,
    till_uid: TillArg,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    number: Annotated[int | None, typer.Option(help="New number")] = None,
    set_: SetOpt = None,
) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        await StoreService(session).update_till(
            await _tenant_id(session, tenant_uid),
            till_uid,
            parse_fields(TillFields, set_, name=name, number=number),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated till {till_uid}")


@till_app.command("delete")
def till_delete(tenant_uid: TenantArg, till_uid: TillArg, yes: YesOpt = False) -> None:
    """Delete a till; a device bound to it stays in its store."""
    _confirm(yes, f"till {till_uid}")

    async def work(session: AsyncSession) -> None:
        await StoreService(session).delete_till(await _tenant_id(session, tenant_uid), till_uid)

    in_unit_of_work(work)
    typer.echo(f"Deleted till {till_uid}")


# Printers -----------------------------------------------------------------------------------

PrinterArg = Annotated[str, typer.Argument(help="The printer's UID")]


@printer_app.command("create")
def printer_create(
    tenant_uid: TenantArg,
    name: Annotated[str, typer.Argument(help="Printer name")],
    type_: Annotated[
        PrinterType, typer.Option("--type", case_sensitive=False)
    ] = PrinterType.RECEIPT,
    store: Annotated[str | None, typer.Option(help="The store it stands in")] = None,
    uid: UidOpt = None,
) -> None:
    """Create a printer of the tenant or of one store."""

    async def work(session: AsyncSession) -> str:
        printer = await StoreService(session).create_printer(
            await _tenant_id(session, tenant_uid),
            PrinterFields(name=name, type=type_),
            store_uid=store,
            uid=uid,
        )
        return printer.uid

    typer.echo(f"Created printer {in_unit_of_work(work)}")


@printer_app.command("list")
def printer_list(tenant_uid: TenantArg) -> None:
    """List a tenant's printers."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        stores = StoreService(session)
        tenant_id = await _tenant_id(session, tenant_uid)
        names = {s.id: s.uid for s in await stores.list_stores(tenant_id)}
        return [
            (p.uid, p.name, p.type, names.get(p.store_id or 0, "-"))
            for p in await stores.list_printers(tenant_id)
        ]

    typer.echo(table(["UID", "NAME", "TYPE", "STORE"], in_unit_of_work(work)))


@printer_app.command("show")
def printer_show(tenant_uid: TenantArg, printer_uid: PrinterArg) -> None:
    """Show a printer."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        printer = await StoreService(session).get_printer(
            await _tenant_id(session, tenant_uid), printer_uid
        )
        return _columns(printer, PrinterFields, ("uid", printer.uid))

    typer.echo(show(in_unit_of_work(work)))


@printer_app.command("update")
def printer_update(
    tenant_uid: TenantArg,
    printer_uid: PrinterArg,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    type_: Annotated[PrinterType | None, typer.Option("--type", case_sensitive=False)] = None,
) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        await StoreService(session).update_printer(
            await _tenant_id(session, tenant_uid),
            printer_uid,
            parse_fields(PrinterFields, None, name=name, type=type_),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated printer {printer_uid}")


@printer_app.command("delete")
def printer_delete(tenant_uid: TenantArg, printer_uid: PrinterArg, yes: YesOpt = False) -> None:
    """Delete a printer; devices that used it no longer list it."""
    _confirm(yes, f"printer {printer_uid}")

    async def work(session: AsyncSession) -> None:
        await StoreService(session).delete_printer(
            await _tenant_id(session, tenant_uid), printer_uid
        )

    in_unit_of_work(work)
    typer.echo(f"Deleted printer {printer_uid}")


# Payment methods ----------------------------------------------------------------------------

MethodArg = Annotated[str, typer.Argument(help="The payment method's UID")]


@payment_app.command("create")
def payment_create(
    tenant_uid: TenantArg,
    store_uid: StoreArg,
    code: Annotated[PaymentCode, typer.Argument(case_sensitive=False, help="Payment code")],
    name: Annotated[str, typer.Argument(help="Name shown on the till")],
    zero_amount: Annotated[
        bool, typer.Option(help="Make it the store's zero-amount method (at most one)")
    ] = False,
    uid: UidOpt = None,
    set_: SetOpt = None,
) -> None:
    """Create a payment method in a store."""

    async def work(session: AsyncSession) -> str:
        fields = parse_fields(
            PaymentMethodFields, set_, code=code, name=name, is_zero_amount=zero_amount or None
        )
        method = await PaymentCatalogService(session).create_payment_method(
            await _tenant_id(session, tenant_uid), store_uid, fields, uid=uid
        )
        return method.uid

    typer.echo(f"Created payment method {in_unit_of_work(work)}")


@payment_app.command("list")
def payment_list(tenant_uid: TenantArg, store_uid: StoreArg) -> None:
    """List a store's payment methods in till order."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        tenant_id = await _tenant_id(session, tenant_uid)
        store = await StoreService(session).get_store(tenant_id, store_uid)
        methods = await PaymentCatalogService(session).list_payment_methods(tenant_id, store.id)
        return [
            (m.uid, m.code, m.name, m.visibility, "yes" if m.is_zero_amount else "")
            for m in methods
        ]

    headers = ["UID", "CODE", "NAME", "VISIBILITY", "ZERO AMOUNT"]
    typer.echo(table(headers, in_unit_of_work(work)))


@payment_app.command("show")
def payment_show(tenant_uid: TenantArg, method_uid: MethodArg) -> None:
    """Show a payment method."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        method = await PaymentCatalogService(session).get_payment_method(
            await _tenant_id(session, tenant_uid), method_uid
        )
        return _columns(method, PaymentMethodFields, ("uid", method.uid))

    typer.echo(show(in_unit_of_work(work)))


@payment_app.command("update")
def payment_update(
    tenant_uid: TenantArg,
    method_uid: MethodArg,
    name: Annotated[str | None, typer.Option(help="New name")] = None,
    set_: SetOpt = None,
) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        await PaymentCatalogService(session).update_payment_method(
            await _tenant_id(session, tenant_uid),
            method_uid,
            parse_fields(PaymentMethodFields, set_, name=name),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated payment method {method_uid}")


@payment_app.command("delete")
def payment_delete(tenant_uid: TenantArg, method_uid: MethodArg, yes: YesOpt = False) -> None:
    """Delete a payment method."""
    _confirm(yes, f"payment method {method_uid}")

    async def work(session: AsyncSession) -> None:
        await PaymentCatalogService(session).delete_payment_method(
            await _tenant_id(session, tenant_uid), method_uid
        )

    in_unit_of_work(work)
    typer.echo(f"Deleted payment method {method_uid}")


# Reasons ------------------------------------------------------------------------------------

KindArg = Annotated[ReasonKind, typer.Argument(case_sensitive=False, help="DISCOUNT or RETURN")]
CodeArg = Annotated[str, typer.Argument(help="The reason's code")]


@reason_app.command("create")
def reason_create(
    tenant_uid: TenantArg,
    kind: KindArg,
    code: CodeArg,
    description: str | None = None,
    position: int | None = None,
) -> None:
    """Create a discount or return reason."""

    async def work(session: AsyncSession) -> None:
        fields = parse_fields(
            ReasonFields, None, kind=kind, code=code, description=description, position=position
        )
        await ReasonService(session).create_reason(await _tenant_id(session, tenant_uid), fields)

    in_unit_of_work(work)
    typer.echo(f"Created {kind} reason {code}")


@reason_app.command("list")
def reason_list(
    tenant_uid: TenantArg,
    kind: Annotated[ReasonKind | None, typer.Option(case_sensitive=False)] = None,
) -> None:
    """List reasons in till order."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        reasons = await ReasonService(session).list_reasons(
            await _tenant_id(session, tenant_uid), kind
        )
        return [(r.kind, r.code, r.description, r.position) for r in reasons]

    typer.echo(table(["KIND", "CODE", "DESCRIPTION", "POSITION"], in_unit_of_work(work)))


@reason_app.command("update")
def reason_update(
    tenant_uid: TenantArg,
    kind: KindArg,
    code: CodeArg,
    description: str | None = None,
    position: int | None = None,
) -> None:
    """Change a reason's description or position."""

    async def work(session: AsyncSession) -> None:
        await ReasonService(session).update_reason(
            await _tenant_id(session, tenant_uid),
            kind,
            code,
            parse_fields(ReasonFields, None, description=description, position=position),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated {kind} reason {code}")


@reason_app.command("delete")
def reason_delete(tenant_uid: TenantArg, kind: KindArg, code: CodeArg, yes: YesOpt = False) -> None:
    """Delete a reason."""
    _confirm(yes, f"{kind} reason {code}")

    async def work(session: AsyncSession) -> None:
        await ReasonService(session).delete_reason(
            await _tenant_id(session, tenant_uid), kind, code
        )

    in_unit_of_work(work)
    typer.echo(f"Deleted {kind} reason {code}")


# Denominations ------------------------------------------------------------------------------

AmountArg = Annotated[int, typer.Argument(help="Value in minor units (øre, cents)")]
MaterialArg = Annotated[DenominationMaterial, typer.Argument(case_sensitive=False)]
CurrencyOpt = Annotated[str | None, typer.Option(help="ISO 4217 (default: the tenant's)")]


@denomination_app.command("add")
def denomination_add(
    tenant_uid: TenantArg, amount: AmountArg, material: MaterialArg, currency: CurrencyOpt = None
) -> None:
    """Add a coin or note."""

    async def work(session: AsyncSession) -> None:
        fields = parse_fields(
            DenominationFields,
            None,
            denomination=amount,
            material=material,
            currency_code=currency.upper() if currency else None,
        )
        await ReasonService(session).add_denomination(await _tenant_id(session, tenant_uid), fields)

    in_unit_of_work(work)
    typer.echo(f"Added {material.lower()} {amount}")


@denomination_app.command("list")
def denomination_list(tenant_uid: TenantArg) -> None:
    """List coins and notes."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        found = await ReasonService(session).list_denominations(
            await _tenant_id(session, tenant_uid)
        )
        return [(d.currency_code, d.material, d.denomination) for d in found]

    typer.echo(table(["CURRENCY", "MATERIAL", "DENOMINATION"], in_unit_of_work(work)))


@denomination_app.command("delete")
def denomination_delete(
    tenant_uid: TenantArg, amount: AmountArg, material: MaterialArg, currency: CurrencyOpt = None
) -> None:
    """Remove a coin or note."""

    async def work(session: AsyncSession) -> None:
        await ReasonService(session).delete_denomination(
            await _tenant_id(session, tenant_uid),
            amount,
            material,
            currency.upper() if currency else None,
        )

    in_unit_of_work(work)
    typer.echo(f"Removed {material.lower()} {amount}")


# Device setting definitions -----------------------------------------------------------------

KeyArg = Annotated[str, typer.Argument(help="The setting's key")]


@setting_app.command("define")
def setting_define(
    tenant_uid: TenantArg,
    key: KeyArg,
    type_: Annotated[
        SettingType, typer.Option("--type", case_sensitive=False)
    ] = SettingType.STRING,
    name: str | None = None,
    allowed_value: Annotated[
        list[str] | None, typer.Option(help="A value of an ENUM setting (repeatable)")
    ] = None,
    regex: Annotated[str | None, typer.Option(help="Pattern a value must match")] = None,
    required: Annotated[bool | None, typer.Option("--required/--optional")] = None,
    default: Annotated[str | None, typer.Option(help="Default value")] = None,
) -> None:
    """Define a setting every device of the tenant has."""

    async def work(session: AsyncSession) -> None:
        fields = parse_fields(
            SettingDefinitionFields,
            None,
            key=key,
            type=type_,
            name=name,
            allowed_values=allowed_value,
            validation_regex=regex,
            required=required,
            default_value=default,
        )
        await SettingDefinitionService(session).define_setting(
            await _tenant_id(session, tenant_uid), fields
        )

    in_unit_of_work(work)
    typer.echo(f"Defined setting {key}")


@setting_app.command("list")
def setting_list(tenant_uid: TenantArg) -> None:
    """List device setting definitions."""

    async def work(session: AsyncSession) -> list[tuple[object, ...]]:
        found = await SettingDefinitionService(session).list_setting_definitions(
            await _tenant_id(session, tenant_uid)
        )
        return [
            (d.key, d.type, d.name, "yes" if d.required else "", d.default_value) for d in found
        ]

    typer.echo(table(["KEY", "TYPE", "NAME", "REQUIRED", "DEFAULT"], in_unit_of_work(work)))


@setting_app.command("show")
def setting_show(tenant_uid: TenantArg, key: KeyArg) -> None:
    """Show a setting definition."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        found = await SettingDefinitionService(session).get_setting_definition(
            await _tenant_id(session, tenant_uid), key
        )
        return _columns(found, SettingDefinitionFields)

    typer.echo(show(in_unit_of_work(work)))


@setting_app.command("update")
def setting_update(tenant_uid: TenantArg, key: KeyArg, set_: SetOpt = None) -> None:
    """Change the fields given; leave the others."""

    async def work(session: AsyncSession) -> None:
        await SettingDefinitionService(session).update_setting_definition(
            await _tenant_id(session, tenant_uid),
            key,
            parse_fields(SettingDefinitionFields, set_),
        )

    in_unit_of_work(work)
    typer.echo(f"Updated setting {key}")


@setting_app.command("delete")
def setting_delete(tenant_uid: TenantArg, key: KeyArg, yes: YesOpt = False) -> None:
    """Delete a setting definition."""
    _confirm(yes, f"setting {key}")

    async def work(session: AsyncSession) -> None:
        await SettingDefinitionService(session).delete_setting_definition(
            await _tenant_id(session, tenant_uid), key
        )

    in_unit_of_work(work)
    typer.echo(f"Deleted setting {key}")


# Import and export --------------------------------------------------------------------------


@tenant_app.command("import")
def tenant_import(
    path: Annotated[Path, typer.Argument(help="A tenant file (YAML or JSON)", dir_okay=False)],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; change nothing")
    ] = False,
) -> None:
    """Create or update a tenant from a file, all of it or nothing.

    The whole file is checked first and every problem is printed with its location.  Rows are
    found by their keys: a second import of the same file changes nothing.  Nothing is deleted.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        file = transfer.parse(text, name=str(path))
    except transfer.InvalidTenantFile as exc:
        raise _report(path, exc) from None

    def progress(done: int, total: int) -> None:
        typer.echo(f"  applied {done}/{total}", err=True)

    async def work(session: AsyncSession, runtime: Runtime) -> transfer.Plan:
        mover = transfer.TenantTransfer(session, runtime)
        try:
            plan = await mover.plan(file)
        except transfer.InvalidTenantFile as exc:
            raise _report(path, exc) from None
        if dry_run:
            return plan
        large = len(plan.steps) > LARGE_IMPORT
        if large:
            typer.echo(f"Importing {len(plan.steps)} changes ...", err=True)
        await mover.apply(plan, progress if large else None)
        return plan

    plan = in_unit_of_work_with_runtime(work)
    if dry_run:
        for step in plan.steps:
            typer.echo(step.line())
        typer.echo(f"Dry run: {plan.summary()}; nothing was changed.")
    else:
        typer.echo(f"Imported tenant {file.tenant.tenant_uid}: {plan.summary(done=True)}.")
        created = {s.key for s in plan.steps if s.op == "+" and s.kind == "user"}
        unset = [u.user_code for u in file.users if u.user_code in created and not u.password]
        if unset:
            typer.echo(
                f"{len(unset)} new user(s) have no password yet: set one with "
                f"`posfleet user set-password {file.tenant.tenant_uid} USER_CODE`"
            )


LARGE_IMPORT = 500


def _report(path: Path, exc: transfer.InvalidTenantFile) -> typer.Exit:
    for problem in exc.problems:
        typer.secho(f"error: {path}: {problem}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


@tenant_app.command("export")
def tenant_export(
    tenant_uid: TenantArg,
    format_: Annotated[
        str, typer.Option("--format", help="yaml or json", case_sensitive=False)
    ] = "yaml",
    output: Annotated[
        Path | None, typer.Option(help="Write here instead of to standard output")
    ] = None,
) -> None:
    """Write a tenant as a file that `posfleet tenant import` takes back; no secrets."""
    fmt = format_.lower()
    if fmt not in ("yaml", "json"):
        raise fail(f"--format must be yaml or json, not {format_!r}")

    async def work(session: AsyncSession, runtime: Runtime) -> dict[str, Any]:
        return await transfer.TenantTransfer(session, runtime).export(tenant_uid)

    text = transfer.dump(in_unit_of_work_with_runtime(work), fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    typer.echo(f"Exported tenant {tenant_uid} to {output}")
