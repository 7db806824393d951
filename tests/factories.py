"""Plain functions that put domain rows in place for a test.  Each flushes, none commits."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.hashing import hash_password
from posfleet.models import (
    Device,
    Printer,
    RegisteredApp,
    Store,
    Tenant,
    TenantUser,
    Till,
    UserStoreAccess,
)
from posfleet.models.enums import AccountType, AppCode, DeviceStatus, PrinterType

# argon2 is slow on purpose; tests reuse one hash per password.
_HASHES: dict[str, str] = {}


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def password_hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


async def tenant(session: AsyncSession, **values: Any) -> Tenant:
    row = Tenant(**{"uid": _uid("tenant"), "name": "Test Retail AS", **values})
    session.add(row)
    await session.flush()
    return row


async def store(session: AsyncSession, tenant: Tenant, **values: Any) -> Store:
    row = Store(**{"tenant_id": tenant.id, "uid": _uid("store"), "name": "Main Street", **values})
    session.add(row)
    await session.flush()
    return row


async def till(session: AsyncSession, store: Store, number: int = 1, **values: Any) -> Till:
    row = Till(
        **{
            "tenant_id": store.tenant_id,
            "store_id": store.id,
            "uid": _uid("till"),
            "number": number,
            "name": f"Till {number}",
            **values,
        }
    )
    session.add(row)
    await session.flush()
    return row


async def printer(
    session: AsyncSession, tenant: Tenant, type: PrinterType = PrinterType.RECEIPT, **values: Any
) -> Printer:
    row = Printer(
        **{
            "tenant_id": tenant.id,
            "uid": _uid("printer"),
            "name": "Printer",
            "type": type,
            **values,
        }
    )
    session.add(row)
    await session.flush()
    return row


async def user(
    session: AsyncSession,
    tenant: Tenant,
    *,
    password: str = "correct horse battery",
    account_type: AccountType = AccountType.FULL,
    stores: list[Store] | None = None,
    permissions: list[str] | None = None,
    **values: Any,
) -> TenantUser:
    row = TenantUser(
        **{
            "tenant_id": tenant.id,
            "uid": _uid("user"),
            "user_code": _uid("code"),
            "password_hash": password_hash(password),
            "first_name": "Kari",
            "last_name": "Nordmann",
            "email": f"{uuid.uuid4().hex[:10]}@example.com",
            "account_type": account_type,
            "permissions": permissions if permissions is not None else [],
            **values,
        }
    )
    session.add(row)
    await session.flush()
    for s in stores or []:
        session.add(UserStoreAccess(user_id=row.id, store_id=s.id))
    await session.flush()
    return row


async def registered_app(
    session: AsyncSession, app_code: AppCode = AppCode.CLIENT, **values: Any
) -> RegisteredApp:
    row = RegisteredApp(
        **{"app_id": _uid("app"), "name": "Flow Retail Client", "app_code": app_code, **values}
    )
    session.add(row)
    await session.flush()
    return row


async def device(
    session: AsyncSession,
    tenant: Tenant,
    *,
    store: Store | None = None,
    till: Till | None = None,
    status: DeviceStatus = DeviceStatus.READY_TO_LINK,
    **values: Any,
) -> Device:
    row = Device(
        **{
            "tenant_id": tenant.id,
            "uid": _uid("device"),
            "name": "Till PC",
            "app_code": AppCode.CLIENT,
            "status": status,
            "store_id": store.id if store else None,
            "till_id": till.id if till else None,
            **values,
        }
    )
    session.add(row)
    await session.flush()
    return row
