"""Import and export a tenant as a file (:mod:`.file_schema`).

An import is checked whole before anything is written: first the file against the schema and
against itself (duplicate keys, till numbers, references), then against the database (a till
that lives in another store, a second zero-amount method).  Every problem is reported with its
location.  Then it is planned: each entry is a row to create, a row to change (only the fields
the file gives that differ) or a row left as it is, so a second import of the same file plans
nothing.  Applying the plan happens in the caller's one unit of work: all of it or none.
An import adds and changes; it never deletes.  An export never holds a secret.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.deviceflow.access import ClientAccessService
from posfleet.devices.search import DeviceQuery, DeviceSearchService
from posfleet.devices.service import DeviceChanges, DeviceService, Hardware, ListedDetails
from posfleet.errors import AppError
from posfleet.kit.pagination import PageRequest, SortDirection
from posfleet.models import Device, Tenant, TenantUser
from posfleet.models.base import new_uid
from posfleet.runtime import Runtime
from posfleet.tenants import file_schema as f
from posfleet.tenants.fields import Fields
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.service import TenantFields, TenantService
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields
from posfleet.users.service import UserChanges, UserService

Progress = Callable[[int, int], None]
ACTOR = "import"
_DEVICE_BATCH = 500


class InvalidTenantFile(AppError):
    """The file cannot be imported; ``problems`` says where and why, one per line."""

    status_code = 400
    code = "invalid_tenant_file"

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(f"the file has {len(problems)} problem(s)")
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Step:
    """One row the import creates (``+``) or changes (``~``)."""

    op: str
    kind: str
    key: str
    changed: tuple[str, ...] = ()
    run: Callable[[], Any] | None = field(default=None, compare=False, repr=False)

    def line(self) -> str:
        detail = f": {', '.join(self.changed)}" if self.changed else ""
        return f"{self.op} {self.kind} {self.key}{detail}"


@dataclass(slots=True)
class Plan:
    steps: list[Step] = field(default_factory=list)
    unchanged: int = 0

    def summary(self, *, done: bool = False) -> str:
        created = sum(1 for s in self.steps if s.op == "+")
        create, change = ("created", "changed") if done else ("to create", "to change")
        return (
            f"{created} {create}, {len(self.steps) - created} {change}, {self.unchanged} unchanged"
        )


# Reading a file -----------------------------------------------------------------------------


def parse(text: str, *, name: str = "file") -> f.TenantFile:
    """The tenant file in ``text`` (YAML, of which JSON is a part), checked against the schema
    (every problem at once); :meth:`TenantTransfer.plan` checks the rest."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else name
        problem = getattr(exc, "problem", exc)
        raise InvalidTenantFile([f"{where}: not YAML or JSON ({problem})"]) from None
    if not isinstance(data, dict):
        raise InvalidTenantFile(["(file): must be a mapping with a 'tenant' entry"])
    try:
        parsed = f.TenantFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidTenantFile(
            [f"{f.location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        ) from None
    return parsed


def _duplicates(where: str, keys: Iterable[object], what: str) -> list[str]:
    seen: set[object] = set()
    problems = []
    for index, key in enumerate(keys):
        if key in seen:
            problems.append(f"{where}[{index}]: {what} {key} appears twice")
        seen.add(key)
    return problems


def _inner_problems(file: f.TenantFile) -> list[str]:
    """What the file says against itself."""
    p: list[str] = []
    p += _duplicates("apps", (a.app_id for a in file.apps), "appId")
    p += _duplicates("reasons", (f"{r.kind} {r.code}" for r in file.reasons), "reason")
    p += _duplicates(
        "denominations",
        ((d.currency_code, d.denomination, d.material) for d in file.denominations),
        "denomination",
    )
    p += _duplicates("deviceSettings", (d.key for d in file.device_settings), "key")
    p += _duplicates("stores", (s.store_uid for s in file.stores), "storeUid")
    p += _duplicates("users", (u.user_code for u in file.users), "userCode")
    p += _duplicates("devices", (d.device_uid for d in file.devices), "deviceUid")
    printers = [*(pr.printer_uid for pr in file.printers)]
    tills: list[str] = []
    methods: list[str] = []
    for i, store in enumerate(file.stores):
        where = f"stores[{i}]"
        p += _duplicates(f"{where}.tills", (t.number for t in store.tills), "till number")
        zero = [m for m in store.payment_methods if m.is_zero_amount]
        if len(zero) > 1:
            p.append(f"{where}.paymentMethods: more than one zero-amount method")
        for j, till in enumerate(store.tills):
            if till.till_uid in tills:
                p.append(f"{where}.tills[{j}]: tillUid {till.till_uid} appears twice")
            tills.append(till.till_uid)
        for j, method in enumerate(store.payment_methods):
            if method.payment_method_uid in methods:
                p.append(
                    f"{where}.paymentMethods[{j}]: paymentMethodUid "
                    f"{method.payment_method_uid} appears twice"
                )
            methods.append(method.payment_method_uid)
        for j, printer in enumerate(store.printers):
            if printer.printer_uid in printers:
                p.append(f"{where}.printers[{j}]: printerUid {printer.printer_uid} appears twice")
            printers.append(printer.printer_uid)
    return p


# Exporting ----------------------------------------------------------------------------------


def _entry(model: type[BaseModel], row: object, **extra: Any) -> dict[str, Any]:
    """``row`` as a file entry: its keys (``extra``) first, then the fields not at default."""
    values = {n: getattr(row, n) for n in model.model_fields if n not in extra and hasattr(row, n)}
    built = model.model_construct(**values, **extra)
    full = built.model_dump(mode="json", by_alias=True)
    keys = {model.model_fields[n].alias or n: None for n in extra}
    slim = built.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    first = {k: full[k] for k in keys if full[k] not in (None, "", [], {})}
    return {**first, **slim}


def dump(data: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


class TenantTransfer:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.tenants = TenantService(session)
        self.stores = StoreService(session)
        self.payments = PaymentCatalogService(session)
        self.reasons = ReasonService(session)
        self.definitions = SettingDefinitionService(session)
        self.apps = AppRegistryService(session)
        self.users = UserService(session)
        self.devices = DeviceService(session, runtime)
        self.search = DeviceSearchService(session)
        self.client_access = ClientAccessService(session)

    async def export(self, tenant_uid: str) -> dict[str, Any]:
        """The tenant as a file's data: every row it owns, keys and all, no secrets."""
        tenant = await self.tenants.get_tenant(tenant_uid)
        tid = tenant.id
        stores = list(await self.stores.list_stores(tid))
        tills = await self.stores.list_tills(tid)
        printers = await self.stores.list_printers(tid)
        out_stores = []
        for store in stores:
            entry = _entry(f.StoreEntry, store, store_uid=store.uid)
            entry["tills"] = [
                _entry(f.TillEntry, t, till_uid=t.uid, number=t.number)
                for t in tills
                if t.store_id == store.id
            ]
            entry["printers"] = [
                _entry(f.PrinterEntry, p, printer_uid=p.uid, name=p.name, type=p.type)
                for p in printers
                if p.store_id == store.id
            ]
            entry["paymentMethods"] = [
                _entry(
                    f.PaymentMethodEntry,
                    m,
                    payment_method_uid=m.uid,
                    code=m.code,
                    name=m.name,
                )
                for m in await self.payments.list_payment_methods(tid, store.id)
            ]
            out_stores.append({k: v for k, v in entry.items() if v != []})
        users = []
        for user in await self.users.list_users(tid):
            roles = await self.users.store_roles(user) if not user.all_stores else []
            users.append(
                _entry(
                    f.UserEntry,
                    user,
                    user_code=user.user_code,
                    account_type=user.account_type,
                    store_uids=[r.store.uid for r in roles],
                )
            )
        devices = []
        async for dev, d in self._all_devices(tid):
            devices.append(
                _entry(
                    f.DeviceEntry,
                    dev,
                    device_uid=dev.uid,
                    name=dev.name,
                    store_uid=d.store.uid if d.store else None,
                    till_uid=d.till.uid if d.till else None,
                    printer_uids=[p.uid for p in d.printers],
                    settings={s.key: s.value for s in d.settings if s.value},
                    mac_address=dev.mac_address or "",
                )
            )
        data: dict[str, Any] = {
            "formatVersion": f.FORMAT_VERSION,
            "tenant": _entry(f.TenantEntry, tenant, tenant_uid=tenant.uid, name=tenant.name),
            "apps": [
                _entry(f.AppEntry, a, app_id=a.app_id, app_code=a.app_code)
                for a in await self.apps.list_apps()
            ],
            "reasons": [
                _entry(ReasonFields, r, kind=r.kind, code=r.code)
                for r in await self.reasons.list_reasons(tid)
            ],
            "denominations": [
                _entry(
                    DenominationFields,
                    d,
                    denomination=d.denomination,
                    material=d.material,
                    currency_code=d.currency_code,
                )
                for d in await self.reasons.list_denominations(tid)
            ],
            "deviceSettings": [
                _entry(SettingDefinitionFields, d, key=d.key, type=d.type)
                for d in await self.definitions.list_setting_definitions(tid)
            ],
            "printers": [
                _entry(f.PrinterEntry, p, printer_uid=p.uid, name=p.name, type=p.type)
                for p in printers
                if p.store_id is None
            ],
            "stores": out_stores,
            "users": users,
            "devices": devices,
        }
        only_listed, listed = await self.client_access.choice(tid)
        if only_listed:  # the default (every active client) is left out, as other defaults are
            data["deviceFlowClients"] = {"onlyListed": True, "allowedClientIds": listed}
        return {k: v for k, v in data.items() if v != []}

    async def _all_devices(self, tenant_id: int) -> AsyncIterator[tuple[Device, ListedDetails]]:
        # Each batch starts after the last device of the one before (keyset paging), so the
        # export reads the tenant's devices once instead of skipping ever more of them.  A list
        # page shows some of a device's columns; the file has them all.
        request = PageRequest(1, _DEVICE_BATCH, "uid", SortDirection.ASC)
        while True:
            page = await self.search.page(tenant_id, DeviceQuery(), request)
            rows = await self.devices.repo.by_ids([item.device.id for item in page.items])
            for item in page.items:
                device = rows.get(item.device.id)
                if device is not None:
                    yield device, item
            if page.next is None:
                return
            request = replace(request, page_number=request.page_number + 1, after=page.next)

    # Importing ----------------------------------------------------------------------------

    async def plan(self, file: f.TenantFile) -> Plan:
        """What importing ``file`` would do.  Raises with every problem of the file against
        itself and against the database, all at once, before anything is written."""
        planner = _Planner(self, file)
        return await planner.run()

    async def apply(self, plan: Plan, progress: Progress | None = None) -> None:
        total = len(plan.steps)
        for done, step in enumerate(plan.steps, 1):
            assert step.run is not None
            await step.run()
            if progress is not None and (done % 250 == 0 or done == total):
                progress(done, total)


def _changed(entry: Fields, row: object, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The fields ``entry`` gives whose values differ from ``row``'s."""
    ignored = set(skip)
    return {
        name: value
        for name, value in entry.given().items()
        if name not in ignored and hasattr(row, name) and getattr(row, name) != value
    }


def _only(kind: type[Fields], values: dict[str, Any]) -> Any:
    names = set(kind.model_fields)
    return kind.model_construct(
        _fields_set={n for n in values if n in names},
        **{k: v for k, v in values.items() if k in names},
    )


class _Planner:
    def __init__(self, transfer: TenantTransfer, file: f.TenantFile) -> None:
        self.t = transfer
        self.file = file
        self.plan = Plan()
        self.problems: list[str] = _inner_problems(file)
        self.tenant: Tenant | None = None
        self.tenant_id = 0

    def add(self, op: str, kind: str, key: str, run: Callable[[], Any], changed: Any = ()) -> None:
        self.plan.steps.append(Step(op, kind, key, tuple(sorted(changed)), run))

    async def run(self) -> Plan:
        file = self.file
        self.tenant = await self.t.tenants.find_tenant(file.tenant.tenant_uid)
        await self._tenant()
        await self._apps()
        if self.tenant is not None:
            self.tenant_id = self.tenant.id
            await self._load()
        else:
            self._empty()
        self._catalogue()
        self._stores()
        self._printers(file.printers, None, "printers")
        await self._users()
        self._devices()
        await self._device_flow_clients()
        if self.problems:
            raise InvalidTenantFile(self.problems)
        return self.plan

    async def _tenant(self) -> None:
        entry = self.file.tenant
        fields = _only(TenantFields, entry.given())
        if self.tenant is None:

            async def create() -> None:
                self.tenant = await self.t.tenants.create_tenant(fields, uid=entry.tenant_uid)
                self.tenant_id = self.tenant.id

            self.add("+", "tenant", entry.tenant_uid, create)
            return
        tenant = self.tenant
        changed = _changed(fields, tenant)
        if changed:

            async def update() -> None:
                await self.t.tenants.update_tenant(tenant.id, _only(TenantFields, changed))

            self.add("~", "tenant", entry.tenant_uid, update, changed)
        else:
            self.plan.unchanged += 1

    async def _apps(self) -> None:
        for entry in self.file.apps:
            found = await self.t.apps.find_app(entry.app_id)
            fields = _only(AppFields, entry.given())
            if found is None:
                self.add(
                    "+", "app", entry.app_id, _call(self.t.apps.register_app, entry.app_id, fields)
                )
            elif changed := _changed(fields, found):
                self.add(
                    "~",
                    "app",
                    entry.app_id,
                    _call(self.t.apps.update_app, entry.app_id, _only(AppFields, changed)),
                    changed,
                )
            else:
                self.plan.unchanged += 1

    def _empty(self) -> None:
        self.reasons: dict[Any, Any] = {}
        self.denominations: dict[Any, Any] = {}
        self.definitions: dict[str, Any] = {}
        self.store_rows: dict[str, Any] = {}
        self.till_rows: dict[str, Any] = {}
        self.till_numbers: dict[tuple[int, int], str] = {}
        self.printer_rows: dict[str, Any] = {}
        self.method_rows: dict[str, Any] = {}
        self.zero_methods: dict[int, str] = {}
        self.user_rows: dict[str, TenantUser] = {}
        self.device_rows: dict[str, tuple[Device, ListedDetails]] = {}

    async def _load(self) -> None:
        """Every row of the tenant the file may name, read once."""
        self._empty()
        t, tid = self.t, self.tenant_id
        self.reasons = {(r.kind, r.code): r for r in await t.reasons.list_reasons(tid)}
        self.denominations = {
            (d.currency_code, d.denomination, d.material): d
            for d in await t.reasons.list_denominations(tid)
        }
        self.definitions = {d.key: d for d in await t.definitions.list_setting_definitions(tid)}
        self.store_rows = {s.uid: s for s in await t.stores.list_stores(tid)}
        for till in await t.stores.list_tills(tid):
            self.till_rows[till.uid] = till
            self.till_numbers[(till.store_id, till.number)] = till.uid
        self.printer_rows = {p.uid: p for p in await t.stores.list_printers(tid)}
        for store in self.store_rows.values():
            for method in await t.payments.list_payment_methods(tid, store.id):
                self.method_rows[method.uid] = method
                if method.is_zero_amount:
                    self.zero_methods[store.id] = method.uid
        self.user_rows = {u.user_code: u for u in await t.users.list_users(tid)}
        self.device_rows = {dev.uid: (dev, d) async for dev, d in t._all_devices(tid)}

    def _catalogue(self) -> None:
        t = self.t
        for entry in self.file.reasons:
            found = self.reasons.get((entry.kind, entry.code))
            key = f"{entry.kind} {entry.code}"
            if found is None:
                self.add("+", "reason", key, self._tenant_call(t.reasons.create_reason, entry))
            elif changed := _changed(entry, found, skip=("kind", "code")):
                self.add(
                    "~",
                    "reason",
                    key,
                    self._tenant_call(
                        t.reasons.update_reason,
                        entry.kind,
                        entry.code,
                        _only(ReasonFields, changed),
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1
        currency = self.tenant.currency_code if self.tenant else self.file.tenant.currency_code
        for coin in self.file.denominations:
            code = coin.currency_code or currency
            key = f"{code} {coin.material} {coin.denomination}"
            if (code, coin.denomination, coin.material) in self.denominations:
                self.plan.unchanged += 1
            else:
                self.add(
                    "+", "denomination", key, self._tenant_call(t.reasons.add_denomination, coin)
                )
        for setting in self.file.device_settings:
            definition = self.definitions.get(setting.key)
            if definition is None:
                self.add(
                    "+",
                    "setting",
                    setting.key,
                    self._tenant_call(t.definitions.define_setting, setting),
                )
            elif changed := _changed(setting, definition, skip=("key",)):
                self.add(
                    "~",
                    "setting",
                    setting.key,
                    self._tenant_call(
                        t.definitions.update_setting_definition,
                        setting.key,
                        _only(SettingDefinitionFields, changed),
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1

    def _tenant_call(
        self, method: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Callable[[], Any]:
        """``method(tenant_id, *args)`` once the tenant exists (it may be created first)."""

        async def run() -> Any:
            return await method(self.tenant_id, *args, **kwargs)

        return run

    def _stores(self) -> None:
        t = self.t
        for i, entry in enumerate(self.file.stores):
            where = f"stores[{i}]"
            store = self.store_rows.get(entry.store_uid)
            fields = _only(StoreFields, entry.given())
            if store is None:
                self.add(
                    "+",
                    "store",
                    entry.store_uid,
                    self._tenant_call(
                        t.stores.create_store,
                        fields,
                        uid=entry.store_uid,
                        default_payment_methods=not entry.payment_methods,
                    ),
                )
            elif changed := _changed(fields, store):
                self.add(
                    "~",
                    "store",
                    entry.store_uid,
                    self._tenant_call(
                        t.stores.update_store, entry.store_uid, _only(StoreFields, changed)
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1
            self._tills(where, entry, store)
            self._printers(entry.printers, entry.store_uid, f"{where}.printers")
            self._methods(where, entry, store)

    def _tills(self, where: str, entry: f.StoreEntry, store: Any) -> None:
        t = self.t
        numbers: set[int] = set()
        for j, till_entry in enumerate(entry.tills):
            if till_entry.number in numbers:
                continue  # reported already: the file uses the number twice
            numbers.add(till_entry.number)
            found = self.till_rows.get(till_entry.till_uid)
            fields = _only(TillFields, till_entry.given())
            if found is not None and (store is None or found.store_id != store.id):
                self.problems.append(
                    f"{where}.tills[{j}]: till {till_entry.till_uid} belongs to another store"
                )
                continue
            if store is not None:
                holder = self.till_numbers.get((store.id, till_entry.number))
                if holder is not None and holder != till_entry.till_uid:
                    self.problems.append(
                        f"{where}.tills[{j}].number: till number {till_entry.number} is "
                        f"already used by till {holder}"
                    )
                    continue
            if found is None:
                self.add(
                    "+",
                    "till",
                    till_entry.till_uid,
                    self._tenant_call(
                        t.stores.create_till, entry.store_uid, fields, uid=till_entry.till_uid
                    ),
                )
            elif changed := _changed(fields, found):
                self.add(
                    "~",
                    "till",
                    till_entry.till_uid,
                    self._tenant_call(
                        t.stores.update_till, till_entry.till_uid, _only(TillFields, changed)
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1

    def _printers(self, entries: list[f.PrinterEntry], store_uid: str | None, where: str) -> None:
        t = self.t
        store = self.store_rows.get(store_uid) if store_uid else None
        for j, entry in enumerate(entries):
            found = self.printer_rows.get(entry.printer_uid)
            fields = _only(PrinterFields, entry.given())
            if found is not None and found.store_id != (store.id if store else None):
                self.problems.append(
                    f"{where}[{j}]: printer {entry.printer_uid} belongs to another store"
                )
            elif found is None:
                self.add(
                    "+",
                    "printer",
                    entry.printer_uid,
                    self._tenant_call(
                        t.stores.create_printer, fields, store_uid=store_uid, uid=entry.printer_uid
                    ),
                )
            elif changed := _changed(fields, found):
                self.add(
                    "~",
                    "printer",
                    entry.printer_uid,
                    self._tenant_call(
                        t.stores.update_printer, entry.printer_uid, _only(PrinterFields, changed)
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1

    def _methods(self, where: str, entry: f.StoreEntry, store: Any) -> None:
        t = self.t
        for j, method_entry in enumerate(entry.payment_methods):
            uid = method_entry.payment_method_uid
            found = self.method_rows.get(uid)
            fields = _only(PaymentMethodFields, method_entry.given())
            if found is not None and (store is None or found.store_id != store.id):
                self.problems.append(
                    f"{where}.paymentMethods[{j}]: payment method {uid} belongs to another store"
                )
                continue
            zero = self.zero_methods.get(store.id) if store is not None else None
            if method_entry.is_zero_amount and zero is not None and zero != uid:
                self.problems.append(
                    f"{where}.paymentMethods[{j}].isZeroAmount: store {entry.store_uid} already "
                    f"has the zero-amount method {zero}"
                )
                continue
            if found is None:
                self.add(
                    "+",
                    "payment method",
                    uid,
                    self._tenant_call(
                        t.payments.create_payment_method, entry.store_uid, fields, uid=uid
                    ),
                )
            elif changed := _changed(fields, found):
                self.add(
                    "~",
                    "payment method",
                    uid,
                    self._tenant_call(
                        t.payments.update_payment_method, uid, _only(PaymentMethodFields, changed)
                    ),
                    changed,
                )
            else:
                self.plan.unchanged += 1

    def _known_stores(self) -> set[str]:
        return set(self.store_rows) | {s.store_uid for s in self.file.stores}

    async def _users(self) -> None:
        stores = self._known_stores()
        for i, entry in enumerate(self.file.users):
            for j, store_uid in enumerate(entry.store_uids):
                if store_uid not in stores:
                    self.problems.append(f"users[{i}].storeUids[{j}]: no store {store_uid}")
            found = self.user_rows.get(entry.user_code)
            if found is None:
                self.add("+", "user", entry.user_code, self._create_user(entry))
                continue
            changes = {
                name: value
                for name, value in entry.given().items()
                if name in UserChanges.__dataclass_fields__ and getattr(found, name) != value
            }
            have = (
                set()
                if found.all_stores
                else {r.store.uid for r in await self.t.users.store_roles(found)}
            )
            missing = [s for s in entry.store_uids if s not in have]
            if changes or missing:
                self.add(
                    "~",
                    "user",
                    entry.user_code,
                    self._update_user(found, UserChanges(**changes), missing),
                    [*changes, *(["storeUids"] if missing else [])],
                )
            else:
                self.plan.unchanged += 1

    def _create_user(self, entry: f.UserEntry) -> Callable[[], Any]:
        async def run() -> None:
            assert self.tenant is not None
            # Without a password in the file the user gets one nobody knows; an administrator
            # sets the real one (`posfleet user set-password`).
            password = entry.password or _unusable_password(entry.account_type.value)
            stores = [await self.t.stores.get_store(self.tenant_id, s) for s in entry.store_uids]
            await self.t.users.create(
                self.tenant,
                user_code=entry.user_code,
                password=password,
                account_type=entry.account_type,
                first_name=entry.first_name,
                last_name=entry.last_name,
                email=entry.email,
                mobile=entry.mobile,
                mobile_country_code=entry.mobile_country_code,
                language_code=entry.language_code,
                permissions=entry.permissions,
                all_stores=entry.all_stores,
                stores=stores,
                status=entry.status,
            )

        return run

    def _update_user(
        self, user: TenantUser, changes: UserChanges, stores: list[str]
    ) -> Callable[[], Any]:
        async def run() -> None:
            await self.t.users.update(user, changes)
            for store_uid in stores:
                store = await self.t.stores.get_store(self.tenant_id, store_uid)
                await self.t.users.grant_store_access(user, store)

        return run

    def _devices(self) -> None:
        stores = self._known_stores()
        tills = {t.till_uid: s.store_uid for s in self.file.stores for t in s.tills} | {
            uid: self._store_uid_of(t.store_id) for uid, t in self.till_rows.items()
        }
        printers = (
            set(self.printer_rows)
            | {p.printer_uid for p in self.file.printers}
            | {p.printer_uid for s in self.file.stores for p in s.printers}
        )
        settings = set(self.definitions) | {d.key for d in self.file.device_settings}
        for i, entry in enumerate(self.file.devices):
            where = f"devices[{i}]"
            before = len(self.problems)
            if entry.store_uid and entry.store_uid not in stores:
                self.problems.append(f"{where}.storeUid: no store {entry.store_uid}")
            if entry.till_uid and tills.get(entry.till_uid) != entry.store_uid:
                self.problems.append(
                    f"{where}.tillUid: no till {entry.till_uid} in store {entry.store_uid}"
                )
            for j, printer in enumerate(entry.printer_uids):
                if printer not in printers:
                    self.problems.append(f"{where}.printerUids[{j}]: no printer {printer}")
            for key in entry.settings:
                if key not in settings:
                    self.problems.append(f"{where}.settings.{key}: no setting {key}")
            if len(self.problems) > before:
                continue
            self._device(entry)

    async def _device_flow_clients(self) -> None:
        entry = self.file.device_flow_clients
        if entry is None:
            return
        where = "deviceFlowClients"
        if not entry.only_listed and entry.allowed_client_ids:
            self.problems.append(
                f"{where}.allowedClientIds: only read with onlyListed: true "
                "(with false every active client is allowed)"
            )
            return
        known = {c.client_id for c in await self.t.apps.list_device_flow_clients()}
        unknown = [
            f"{where}.allowedClientIds[{j}]: no device-flow client {client_id}"
            for j, client_id in enumerate(entry.allowed_client_ids)
            if client_id not in known
        ]
        if unknown:
            self.problems.extend(unknown)
            return
        wanted = (entry.only_listed, sorted(set(entry.allowed_client_ids)))
        current = (
            await self.t.client_access.choice(self.tenant_id) if self.tenant_id else (False, [])
        )
        if wanted == current:
            self.plan.unchanged += 1
            return

        async def run() -> None:
            await self.t.client_access.choose(
                self.tenant_id, only_listed=wanted[0], client_ids=wanted[1], actor=ACTOR
            )

        changed = [
            n
            for n, a, b in zip(("onlyListed", "allowedClientIds"), wanted, current, strict=True)
            if a != b
        ]
        self.add("~", "device-flow clients", self.file.tenant.tenant_uid, run, changed)

    def _store_uid_of(self, store_id: int) -> str | None:
        return next((s.uid for s in self.store_rows.values() if s.id == store_id), None)

    def _device(self, entry: f.DeviceEntry) -> None:
        t = self.t
        found = self.device_rows.get(entry.device_uid)
        hardware = Hardware(
            vendor=entry.vendor,
            model_number=entry.model_number,
            mac_address=entry.mac_address,
            external_device_id=entry.external_device_id,
        )
        if found is None:

            async def create() -> None:
                device, _code = await t.devices.create(
                    self.tenant_id,
                    name=entry.name,
                    app_code=entry.app_code,
                    actor=ACTOR,
                    device_uid=entry.device_uid,
                    store_uid=entry.store_uid,
                    till_uid=entry.till_uid,
                    printer_uids=entry.printer_uids,
                    settings=list(entry.settings.items()),
                )
                if any(
                    (entry.vendor, entry.model_number, entry.mac_address, entry.external_device_id)
                ):
                    await t.devices.describe_hardware(device, hardware, ACTOR)

            self.add("+", "device", entry.device_uid, create)
            return
        device, found_listed = found
        current: dict[str, Any] = {
            "name": device.name,
            "app_code": device.app_code,
            "store_uid": found_listed.store.uid if found_listed.store else None,
            "till_uid": found_listed.till.uid if found_listed.till else None,
            "printer_uids": [p.uid for p in found_listed.printers],
            "settings": {s.key: s.value for s in found_listed.settings if s.value},
            "vendor": device.vendor,
            "model_number": device.model_number,
            "mac_address": (device.mac_address or "").upper(),
            "external_device_id": device.external_device_id,
        }
        given = entry.given()
        if "mac_address" in given:
            given["mac_address"] = given["mac_address"].upper()
        if "settings" in given:
            given["settings"] = {**current["settings"], **given["settings"]}
        changed = {k: v for k, v in given.items() if k in current and current[k] != v}
        if not changed:
            self.plan.unchanged += 1
            return

        async def update() -> None:
            placement = "store_uid" in changed or "till_uid" in changed
            await t.devices.update(
                device,
                DeviceChanges(
                    name=changed.get("name"),
                    app_code=changed.get("app_code"),
                    store_uid=(entry.store_uid or "") if placement else None,
                    till_uid=(entry.till_uid or "") if placement else None,
                    printer_uids=changed.get("printer_uids"),
                    settings=list(entry.settings.items()) if "settings" in changed else None,
                ),
                ACTOR,
            )
            if {"vendor", "model_number", "mac_address", "external_device_id"} & set(changed):
                await t.devices.describe_hardware(device, hardware, ACTOR)

        self.add("~", "device", entry.device_uid, update, changed)


def _call(method: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    async def run() -> Any:
        return await method(*args)

    return run


def _unusable_password(account_type: str) -> str:
    """A password that satisfies the policy and that nobody knows."""
    if account_type == "REGULAR":
        import secrets

        while len(set(pin := f"{secrets.randbelow(10_000):04d}")) == 1:
            pass
        return pin
    return new_uid() + "-1"
