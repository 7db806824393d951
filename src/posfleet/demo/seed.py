"""Put the demo retailer in place, or find it from an earlier run, and issue fresh live codes.

Everything goes through the domain services.  Rows are found by their fixed UIDs, so a second
run keeps every row and only issues a new link code, pairing code and storefront API key (the
old ones are revoked: secrets are kept hashed, so the only way to show one again is to issue a
new one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.apikeys.service import ApiKeyService
from posfleet.apps.service import AppFields, AppRegistryService
from posfleet.demo import data
from posfleet.devices.service import DeviceService, Hardware
from posfleet.errors import NotFound
from posfleet.models import Device, Store, Tenant, TenantUser
from posfleet.models.enums import DeviceStatus, PrinterType
from posfleet.pairing.service import PairingService
from posfleet.runtime import Runtime
from posfleet.tenants.payments import PaymentCatalogService, PaymentMethodFields
from posfleet.tenants.reasons import DenominationFields, ReasonFields, ReasonService
from posfleet.tenants.service import TenantFields, TenantService
from posfleet.tenants.setting_definitions import SettingDefinitionFields, SettingDefinitionService
from posfleet.tenants.stores import PrinterFields, StoreFields, StoreService, TillFields
from posfleet.users.service import UserService

Progress = Callable[[str], None]


class DemoSeeder:
    def __init__(self, session: AsyncSession, runtime: Runtime, progress: Progress) -> None:
        self.runtime = runtime
        self.tenants = TenantService(session)
        self.stores = StoreService(session)
        self.payments = PaymentCatalogService(session)
        self.reasons = ReasonService(session)
        self.definitions = SettingDefinitionService(session)
        self.apps = AppRegistryService(session)
        self.users = UserService(session)
        self.devices = DeviceService(session, runtime)
        self.api_keys = ApiKeyService(session, runtime)
        self.pairing = PairingService(session, runtime)
        self.progress = progress
        self.created = 0
        self.kept = 0

    def _count(self, created: bool) -> None:
        if created:
            self.created += 1
        else:
            self.kept += 1

    async def run(self) -> dict[str, Any]:
        """Seed both tenants and answer the manifest (``docs/demo.md``)."""
        self.progress("registering POS apps and the device-flow client")
        await self._registries()
        nordlys = await self._tenant(data.NORDLYS)
        fjell = await self._tenant(data.FJELL)

        self.progress("issuing a fresh link code for the ready device")
        ready = await self.devices.get(nordlys.id, data.READY_DEVICE_UID)
        link_code = await self.devices.reset_link(ready, data.ACTOR)

        self.progress("issuing a fresh storefront API key and pairing code")
        api_key = await self._api_key(nordlys)
        pairing_code = await self._pairing_code(nordlys)

        self.progress(f"done: {self.created} rows created, {self.kept} kept from an earlier run")
        return {
            "flow": {
                "tenantUid": nordlys.uid,
                "storeUid": data.OSLO.uid,
                "otherStoreUid": data.BERGEN.uid,
                "tillUid": data.FREE_TILL_UID,
                "admin": {"userCode": data.ADMIN.user_code, "password": data.ADMIN.password},
                "cashier": {
                    "userCode": data.CASHIER.user_code,
                    "password": data.CASHIER.password,
                },
                "apps": {"CLIENT": data.CLIENT_APP_ID, "ASSISTANT": data.ASSISTANT_APP_ID},
                "clientId": data.DEVICE_FLOW_CLIENT_ID,
                "readyDevice": {"deviceUid": ready.uid, "deviceLinkCode": link_code},
                "otherTenant": {
                    "tenantUid": fjell.uid,
                    "admin": {
                        "userCode": data.OTHER_ADMIN.user_code,
                        "password": data.OTHER_ADMIN.password,
                    },
                },
            },
            "commerce": {
                "storeId": nordlys.uid,
                "apiKey": api_key,
                "locationId": data.OSLO.uid,
                "user": {
                    "email": data.CASHIER.email,
                    "phone": data.CASHIER.mobile,
                    "country_code": "+47",
                },
                "deviceId": data.COMMERCE_DEVICE_UID,
                "pairingCode": pairing_code,
            },
        }

    async def _api_key(self, tenant: Tenant) -> str:
        """The demo's one storefront key: earlier runs' keys of the same name are revoked."""
        for key in await self.api_keys.of_tenant(tenant.uid):
            if key.name == data.API_KEY_NAME and key.revoked_at is None:
                await self.api_keys.revoke(key.uid)
        return (await self.api_keys.create(tenant.uid, data.API_KEY_NAME)).secret

    async def _pairing_code(self, tenant: Tenant) -> str:
        device = await self.devices.get(tenant.id, data.COMMERCE_DEVICE_UID)
        if device.status is not DeviceStatus.READY_TO_LINK:
            # Paired since the last run: make it pairable again, as the manifest promises.
            await self.devices.reset_link(device, data.ACTOR)
        return await self.pairing.issue(tenant, device.uid, data.ACTOR)

    async def _registries(self) -> None:
        for app_id, name, code in (
            (data.CLIENT_APP_ID, "Flow Retail POS (till)", "CLIENT"),
            (data.ASSISTANT_APP_ID, "Flow Retail Assistant (iPad)", "ASSISTANT"),
        ):
            found = await self.apps.find_app(app_id)
            if found is None:
                await self.apps.register_app(app_id, AppFields(name=name, app_code=code))
            self._count(found is None)
        client = await self.apps.find_device_flow_client(data.DEVICE_FLOW_CLIENT_ID)
        if client is None:
            await self.apps.create_device_flow_client(
                data.DEVICE_FLOW_CLIENT_ID, AppFields(name="Flow Retail POS (legacy pairing)")
            )
        self._count(client is None)

    async def _tenant(self, spec: data.TenantSpec) -> Tenant:
        self.progress(f"tenant {spec.name} ({spec.uid})")
        tenant = await self.tenants.find_tenant(spec.uid)
        self._count(tenant is None)
        if tenant is None:
            tenant = await self.tenants.create_tenant(
                TenantFields(name=spec.name, vat_number=spec.vat_number, **spec.details),
                uid=spec.uid,
            )
        await self._catalogue(tenant)
        stores = {}
        for store_spec in spec.stores:
            stores[store_spec.uid] = await self._store(tenant, store_spec)
        self.progress(f"  {len(spec.users)} users (hashing demo passwords)")
        for user_spec in spec.users:
            await self._user(tenant, user_spec, stores)
        self.progress(f"  {len(spec.devices)} devices")
        admin_uid = await self._admin_uid(tenant, spec)
        for device_spec in spec.devices:
            await self._device(tenant, device_spec, admin_uid)
        return tenant

    async def _catalogue(self, tenant: Tenant) -> None:
        for kind, code, description in data.REASONS:
            found = await self.reasons.find_reason(tenant.id, kind, code)
            if found is None:
                await self.reasons.create_reason(
                    tenant.id, ReasonFields(kind=kind, code=code, description=description)
                )
            self._count(found is None)
        for amount, material in data.DENOMINATIONS:
            denomination = await self.reasons.find_denomination(tenant.id, amount, material)
            if denomination is None:
                await self.reasons.add_denomination(
                    tenant.id, DenominationFields(denomination=amount, material=material)
                )
            self._count(denomination is None)
        for definition in data.SETTING_DEFINITIONS:
            existing = await self.definitions.find_setting_definition(tenant.id, definition["key"])
            if existing is None:
                await self.definitions.define_setting(
                    tenant.id, SettingDefinitionFields(**definition)
                )
            self._count(existing is None)
        office = f"{tenant.uid}-office-a4"
        printer = await self.stores.find_printer(tenant.id, office)
        if printer is None:
            await self.stores.create_printer(
                tenant.id,
                PrinterFields(name="HP LaserJet (kontor)", type=PrinterType.GENERAL),
                uid=office,
            )
        self._count(printer is None)

    async def _store(self, tenant: Tenant, spec: data.StoreSpec) -> Store:
        self.progress(f"  store {spec.name}")
        store = await self.stores.find_store(tenant.id, spec.uid)
        self._count(store is None)
        if store is None:
            fields = StoreFields(
                name=spec.name,
                address=spec.address,
                postal_code=spec.postal_code,
                city=spec.city,
                latitude=spec.latitude,
                longitude=spec.longitude,
                phone=spec.phone,
                email=spec.email,
                vat_number=tenant.vat_number,
                website_url="https://www.nordlys.example/butikker",
                opening_hours=data.OPENING_HOURS[spec.uid],
                bank_info={
                    "accountNumber": "1503.12.34567",
                    "bankName": "DNB",
                    "iban": "NO9315031234567",
                    "swift": "DNBANOKKXXX",
                },
                receipt_message="Åpent kjøp i 30 dager mot kvittering.",
                email_receipt_message="Takk for at du handlet hos oss!",
                exchangenote_message="Byttelapp - gyldig i 30 dager.",
                available_extensions=[
                    {"extensionCode": "VIPPS", "name": "Vipps"},
                    {"extensionCode": "FLOWGIFTCARD", "name": "Gift cards"},
                ],
            )
            # The demo's stores have a payment catalogue of their own (below).
            store = await self.stores.create_store(
                tenant.id, fields, uid=spec.uid, default_payment_methods=False
            )
        for suffix, name, kind in data.PRINTERS:
            uid = f"{spec.uid}-{suffix}"
            printer = await self.stores.find_printer(tenant.id, uid)
            if printer is None:
                await self.stores.create_printer(
                    tenant.id,
                    PrinterFields(name=f"{name} ({spec.city})", type=kind),
                    store_uid=store.uid,
                    uid=uid,
                )
            self._count(printer is None)
        for number, name, terminal in spec.tills:
            uid = data.till_uid(spec.uid, number)
            till = await self.stores.find_till(tenant.id, uid)
            if till is None:
                settings = []
                if spec.terminal_setting and terminal is not terminal.NONE:
                    key, value = spec.terminal_setting
                    settings.append({"key": key, "value": f"{value}-{number}"})
                await self.stores.create_till(
                    tenant.id,
                    store.uid,
                    TillFields(
                        number=number,
                        name=name,
                        payment_terminal=terminal,
                        receipt_printer=f"{spec.uid}-receipt",
                        barcode_printer=f"{spec.uid}-label",
                        cash_drawer="APG VB320",
                        settings=settings,
                        app_settings={
                            "saleStopAtDelivery": False,
                            "autoLogout": -1,
                            "touchMode": "OPTIONAL_ON",
                        },
                    ),
                    uid=uid,
                )
            self._count(till is None)
        for position, (code, name, visibility, zero) in enumerate(data.PAYMENT_METHODS):
            uid = f"{spec.uid}-pm-{code.lower().replace('_', '-')}"
            method = await self.payments.find_payment_method(tenant.id, uid)
            if method is None:
                await self.payments.create_payment_method(
                    tenant.id,
                    store.uid,
                    PaymentMethodFields(
                        code=code,
                        name=name,
                        visibility=visibility,
                        position=position,
                        is_zero_amount=zero,
                        allow_cashback=code == "CASH",
                        allow_amount=not zero,
                        requirements={
                            "requireCustomer": code == "INVOICE",
                            "requireCustomerMobile": False,
                            "requireCustomerEmail": code == "INVOICE",
                            "requireCustomerContact": code == "INVOICE",
                            "requireExclusiveUse": zero,
                        },
                    ),
                    uid=uid,
                )
            self._count(method is None)
        return store

    async def _user(
        self, tenant: Tenant, spec: data.UserSpec, stores: dict[str, Store]
    ) -> TenantUser:
        user = await self.users.find_by_user_code(tenant, spec.user_code)
        self._count(user is None)
        if user is None:
            user = await self.users.create(
                tenant,
                user_code=spec.user_code,
                password=spec.password,
                account_type=spec.account_type,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=spec.email,
                mobile=spec.mobile,
                mobile_country_code="+47" if spec.mobile else "",
                permissions=spec.permissions,
                all_stores=spec.all_stores,
            )
            for store_uid in spec.stores:
                role_uid, role_name = spec.role
                await self.users.grant_store_access(
                    user, stores[store_uid], role_uid=role_uid, role_name=role_name
                )
        return user

    async def _admin_uid(self, tenant: Tenant, spec: data.TenantSpec) -> str:
        admin = await self.users.find_by_user_code(tenant, spec.users[0].user_code)
        return admin.uid if admin else ""

    async def _device(self, tenant: Tenant, spec: data.DeviceSpec, admin_uid: str) -> Device:
        try:
            device = await self.devices.get(tenant.id, spec.uid)
        except NotFound:
            pass
        else:
            self._count(False)
            return device
        device, _code = await self.devices.create(
            tenant.id,
            name=spec.name,
            app_code=spec.app_code,
            actor=data.ACTOR,
            device_uid=spec.uid,
            store_uid=spec.store_uid,
            till_uid=spec.till_uid,
            printer_uids=list(spec.printer_uids),
            settings=list(spec.settings),
        )
        hardware = Hardware(
            vendor=spec.vendor,
            model_number=spec.model_number,
            mac_address=spec.mac_address or "",
            external_device_id=spec.external_device_id,
        )
        await self.devices.describe_hardware(device, hardware, data.ACTOR)
        if spec.status is not DeviceStatus.READY_TO_LINK:
            # The demo stands in for a physical device that linked with its code.
            await self.devices.activate(
                device,
                data.ACTOR,
                how="demo",
                user_uid=admin_uid,
                system_information=spec.system_information,
            )
        if spec.status is DeviceStatus.BLOCKED:
            await self.devices.block(device, data.ACTOR)
        self._count(True)
        return device


async def seed_demo(session: AsyncSession, runtime: Runtime, progress: Progress) -> dict[str, Any]:
    """Seed the demo in ``session`` (the caller's unit of work commits) and answer the manifest."""
    return await DemoSeeder(session, runtime, progress).run()
