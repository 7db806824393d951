"""Every query about tenant users and their store access."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.kit.pagination import Page, PageRequest, SortDirection
from posfleet.models import Store, TenantUser, UserStoreAccess
from posfleet.models.enums import AccountType, UserStatus

# Sort keys a caller may ask for, by domain name; dialects map their own names onto these.
USER_SORT_COLUMNS = {
    "user_code": TenantUser.user_code,
    "first_name": TenantUser.first_name,
    "last_name": TenantUser.last_name,
    "email": TenantUser.email,
    "account_type": TenantUser.account_type,
    "created_at": TenantUser.created_at,
    "last_accessed_at": TenantUser.last_accessed_at,
}

_BY_USER_CODE = select(TenantUser).where(
    TenantUser.tenant_id == bindparam("tenant_id"), TenantUser.user_code == bindparam("user_code")
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, user: TenantUser) -> TenantUser:
        self.session.add(user)
        await self.session.flush()
        return user

    async def delete(self, user: TenantUser) -> None:
        await self.session.delete(user)
        await self.session.flush()

    async def of_tenant(self, tenant_id: int) -> Sequence[TenantUser]:
        return (
            await self.session.scalars(
                select(TenantUser)
                .where(TenantUser.tenant_id == tenant_id)
                .order_by(TenantUser.user_code, TenantUser.id)
            )
        ).all()

    async def get_by_id(self, tenant_id: int, user_id: int) -> TenantUser | None:
        return await self.session.scalar(
            select(TenantUser).where(TenantUser.tenant_id == tenant_id, TenantUser.id == user_id)
        )

    async def get_by_uid(self, tenant_id: int, uid: str) -> TenantUser | None:
        return await self.session.scalar(
            select(TenantUser).where(TenantUser.tenant_id == tenant_id, TenantUser.uid == uid)
        )

    async def get_by_user_code(self, tenant_id: int, user_code: str) -> TenantUser | None:
        # Every sign-in and link asks this: the statement is built once.
        return await self.session.scalar(
            _BY_USER_CODE, {"tenant_id": tenant_id, "user_code": user_code}
        )

    async def all_with_user_code(self, user_code: str) -> Sequence[TenantUser]:
        """Users of every tenant with this login name (it is unique only within a tenant)."""
        result = await self.session.scalars(
            select(TenantUser).where(TenantUser.user_code == user_code).order_by(TenantUser.id)
        )
        return result.all()

    async def all_with_email(self, tenant_id: int, email: str) -> Sequence[TenantUser]:
        result = await self.session.scalars(
            select(TenantUser)
            .where(TenantUser.tenant_id == tenant_id, TenantUser.email == email)
            .order_by(TenantUser.id)
        )
        return result.all()

    async def all_with_mobile(self, tenant_id: int, mobiles: Sequence[str]) -> Sequence[TenantUser]:
        result = await self.session.scalars(
            select(TenantUser)
            .where(TenantUser.tenant_id == tenant_id, TenantUser.mobile.in_(list(mobiles)))
            .order_by(TenantUser.id)
        )
        return result.all()

    async def get_access(self, user_id: int, store_id: int) -> UserStoreAccess | None:
        return await self.session.get(UserStoreAccess, (user_id, store_id))

    async def add_access(self, access: UserStoreAccess) -> UserStoreAccess:
        self.session.add(access)
        await self.session.flush()
        return access

    async def remove_access(self, access: UserStoreAccess) -> None:
        await self.session.delete(access)
        await self.session.flush()

    async def stores_of(self, user: TenantUser) -> Sequence[tuple[Store, UserStoreAccess | None]]:
        """The stores a user may work in, with the role there (``None`` for all-stores users)."""
        if user.all_stores:
            rows = await self.session.scalars(
                select(Store)
                .where(Store.tenant_id == user.tenant_id)
                .order_by(Store.name, Store.id)
            )
            return [(s, None) for s in rows.all()]
        result = await self.session.execute(
            select(Store, UserStoreAccess)
            .join(UserStoreAccess, UserStoreAccess.store_id == Store.id)
            .where(UserStoreAccess.user_id == user.id, Store.tenant_id == user.tenant_id)
            .order_by(Store.name, Store.id)
        )
        return [(store, access) for store, access in result.all()]

    @staticmethod
    def _store_filter(tenant_id: int, store_id: int) -> ColumnElement[bool]:
        has_row = exists().where(
            UserStoreAccess.user_id == TenantUser.id, UserStoreAccess.store_id == store_id
        )
        return and_(TenantUser.tenant_id == tenant_id, or_(TenantUser.all_stores, has_row))

    async def page_with_access_to_store(
        self,
        tenant_id: int,
        store_id: int,
        page: PageRequest,
        *,
        account_types: Sequence[AccountType] = (),
        active_only: bool = True,
    ) -> Page[TenantUser]:
        conditions = [self._store_filter(tenant_id, store_id)]
        if account_types:
            conditions.append(TenantUser.account_type.in_([str(t) for t in account_types]))
        if active_only:
            conditions.append(TenantUser.status == UserStatus.ACTIVE)
        total = await self.session.scalar(
            select(func.count()).select_from(TenantUser).where(*conditions)
        )
        column = USER_SORT_COLUMNS[page.sort_by]
        order = column.desc() if page.sort_direction is SortDirection.DESC else column.asc()
        tiebreak = (
            TenantUser.id.desc() if page.sort_direction is SortDirection.DESC else TenantUser.id
        )
        rows = await self.session.scalars(
            select(TenantUser)
            .where(*conditions)
            .order_by(order, tiebreak)
            .offset(page.offset)
            .limit(page.page_size)
        )
        return Page(list(rows.all()), page.page_number, page.page_size, int(total or 0))

    async def page_of_tenant(self, tenant_id: int, page: PageRequest) -> Page[TenantUser]:
        condition = TenantUser.tenant_id == tenant_id
        total = await self.session.scalar(
            select(func.count()).select_from(TenantUser).where(condition)
        )
        column = USER_SORT_COLUMNS[page.sort_by]
        descending = page.sort_direction is SortDirection.DESC
        rows = await self.session.scalars(
            select(TenantUser)
            .where(condition)
            .order_by(
                column.desc() if descending else column.asc(),
                TenantUser.id.desc() if descending else TenantUser.id,
            )
            .offset(page.offset)
            .limit(page.page_size)
        )
        return Page(list(rows.all()), page.page_number, page.page_size, int(total or 0))
