"""Tenant users: creation, lookups for every way a person signs in, and store access.

Passwords are kept only as argon2id hashes.  Emails are stored lower-cased; mobile numbers as
national digits with a separate ``+NN`` country code, so that each sign-in path is one lookup.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from posfleet.kit.hashing import hash_password_async, password_needs_rehash, verify_password
from posfleet.kit.pagination import Page, PageRequest
from posfleet.models import Store, Tenant, TenantUser, UserStoreAccess
from posfleet.models.enums import AccountType, UserStatus
from posfleet.tenants.service import check_uid
from posfleet.users.passwords import password_problem
from posfleet.users.repository import USER_SORT_COLUMNS, UserRepository

USER_SORT_FIELDS = frozenset(USER_SORT_COLUMNS)
TENANT_ADMIN = "TENANT.ADMIN"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_country_code(country_code: str) -> str:
    """``47``, ``+47`` and ``0047`` are all ``+47``; empty stays empty."""
    digits = re.sub(r"\D", "", country_code).lstrip("0")
    return f"+{digits}" if digits else ""


def normalize_mobile(mobile: str) -> str:
    return re.sub(r"\D", "", mobile)


@dataclass(frozen=True, slots=True)
class StoreRole:
    store: Store
    role_uid: str
    role_name: str


@dataclass(frozen=True, slots=True)
class UserChanges:
    """A partial update of a user; ``None`` leaves a field alone."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    mobile_country_code: str | None = None
    status: UserStatus | None = None
    permissions: Sequence[str] | None = None
    all_stores: bool | None = None


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = UserRepository(session)

    async def create(
        self,
        tenant: Tenant,
        *,
        user_code: str,
        password: str,
        account_type: AccountType,
        uid: str | None = None,
        first_name: str = "",
        last_name: str = "",
        email: str = "",
        mobile: str = "",
        mobile_country_code: str = "",
        language_code: str = "nb",
        permissions: Iterable[str] = (),
        all_stores: bool = False,
        stores: Iterable[Store] = (),
        status: UserStatus = UserStatus.ACTIVE,
    ) -> TenantUser:
        """Create a user of ``tenant`` with access to ``stores``; the password is hashed."""
        errors: dict[str, str] = {}
        user_code = user_code.strip()
        if not user_code or len(user_code) > 100:
            errors["userCode"] = "must be 1 to 100 characters"
        if problem := password_problem(account_type, password):
            errors["password"] = problem
        if uid is not None and (message := check_uid(uid)):
            errors["uid"] = message
        email = normalize_email(email)
        if email and not _EMAIL.match(email):
            errors["email"] = "is not an email address"
        mobile = normalize_mobile(mobile)
        if mobile and not 4 <= len(mobile) <= 15:
            errors["mobile"] = "must have 4 to 15 digits"
        if len(language_code) != 2:
            errors["languageCode"] = "must be an ISO 639-1 code"
        if errors:
            raise ValidationFailed(
                "Invalid user: " + "; ".join(f"{k} {v}" for k, v in errors.items()), errors=errors
            )
        if await self.repository.get_by_user_code(tenant.id, user_code) is not None:
            raise Conflict(f"User code {user_code!r} is already taken in this tenant")
        if uid is not None and await self.repository.get_by_uid(tenant.id, uid) is not None:
            raise Conflict(f"User {uid!r} already exists in this tenant")
        user = TenantUser(
            tenant_id=tenant.id,
            user_code=user_code,
            password_hash=await hash_password_async(password),
            first_name=first_name,
            last_name=last_name,
            email=email,
            mobile=mobile,
            mobile_country_code=normalize_country_code(mobile_country_code),
            account_type=account_type,
            status=status,
            language_code=language_code.lower(),
            permissions=sorted(set(permissions)),
            all_stores=all_stores,
        )
        if uid is not None:
            user.uid = uid
        await self.repository.add(user)
        for store in stores:
            await self.grant_store_access(user, store)
        return user

    async def set_password(self, user: TenantUser, password: str) -> None:
        if problem := password_problem(user.account_type, password):
            raise ValidationFailed(f"Invalid password: {problem}", errors={"password": problem})
        user.password_hash = await hash_password_async(password)

    async def reset_password(self, user: TenantUser, password: str) -> None:
        """A new password set by an administrator; every token the user holds stops working."""
        await self.set_password(user, password)
        user.token_version += 1

    def deactivate(self, user: TenantUser) -> None:
        """INACTIVE: no sign-in anywhere, and every token of the user is refused at once."""
        user.status = UserStatus.INACTIVE
        user.token_version += 1

    def activate(self, user: TenantUser) -> None:
        user.status = UserStatus.ACTIVE

    async def update(self, user: TenantUser, changes: UserChanges) -> TenantUser:
        """Change the fields given (``None`` leaves a field alone)."""
        errors: dict[str, str] = {}
        if changes.email is not None:
            email = normalize_email(changes.email)
            if email and not _EMAIL.match(email):
                errors["email"] = "is not an email address"
            user.email = email
        if changes.mobile is not None:
            mobile = normalize_mobile(changes.mobile)
            if mobile and not 4 <= len(mobile) <= 15:
                errors["mobile"] = "must have 4 to 15 digits"
            user.mobile = mobile
        if errors:
            raise ValidationFailed(
                "Invalid user: " + "; ".join(f"{k} {v}" for k, v in errors.items()), errors=errors
            )
        if changes.mobile_country_code is not None:
            user.mobile_country_code = normalize_country_code(changes.mobile_country_code)
        for name in ("first_name", "last_name", "status", "permissions", "all_stores"):
            value = getattr(changes, name)
            if value is not None:
                setattr(user, name, sorted(set(value)) if name == "permissions" else value)
        if changes.status is not None and changes.status is not UserStatus.ACTIVE:
            # A user who may no longer sign in loses the tokens issued so far.
            user.token_version += 1
        await self.repository.session.flush()
        return user

    async def list_users(self, tenant_id: int) -> Sequence[TenantUser]:
        return await self.repository.of_tenant(tenant_id)

    async def delete(self, user: TenantUser) -> None:
        await self.repository.delete(user)

    # Lookups -----------------------------------------------------------------------------

    async def page_of_tenant(self, tenant_id: int, page: PageRequest) -> Page[TenantUser]:
        """The tenant's users; ``page.sort_by`` is one of :data:`USER_SORT_FIELDS`."""
        return await self.repository.page_of_tenant(tenant_id, page)

    async def find_by_uid(self, tenant: Tenant, uid: str) -> TenantUser | None:
        return await self.repository.get_by_uid(tenant.id, uid)

    async def get_by_uid(self, tenant: Tenant, uid: str) -> TenantUser:
        user = await self.repository.get_by_uid(tenant.id, uid)
        if user is None:
            raise NotFound(f"No user {uid!r} in this tenant")
        return user

    async def find_by_id(self, tenant_id: int, user_id: int) -> TenantUser | None:
        return await self.repository.get_by_id(tenant_id, user_id)

    async def find_by_user_code(self, tenant: Tenant, user_code: str) -> TenantUser | None:
        return await self.repository.get_by_user_code(tenant.id, user_code.strip())

    async def find_by_user_code_any_tenant(self, user_code: str) -> Sequence[TenantUser]:
        """Users of every tenant with this login name, for sign-in before the tenant is known."""
        return await self.repository.all_with_user_code(user_code.strip())

    async def find_by_email(self, tenant: Tenant | int, email: str) -> TenantUser | None:
        """The tenant's user with this email (case-insensitive); the oldest if several."""
        email = normalize_email(email)
        if not email:
            return None
        users = await self.repository.all_with_email(_tenant_id(tenant), email)
        return users[0] if users else None

    async def find_by_mobile(
        self, tenant: Tenant | int, phone: str, country_code: str | None = None
    ) -> TenantUser | None:
        """The tenant's user with this mobile number; the oldest if several.

        ``phone`` may be national (``91234567``, with or without ``country_code``) or
        international (``+4791234567``); spaces and dashes are ignored.
        """
        digits = normalize_mobile(phone)
        if not digits:
            return None
        cc = normalize_country_code(country_code or "")
        international = phone.strip().startswith(("+", "00"))
        if international and not cc:
            digits = digits.lstrip("0")
            # Split "4791234567" into every possible (+cc, national) pair of 1-3 digit codes.
            candidates = {digits[n:]: f"+{digits[:n]}" for n in (1, 2, 3) if len(digits) > n}
            users = await self.repository.all_with_mobile(_tenant_id(tenant), list(candidates))
            matches = [u for u in users if candidates.get(u.mobile) == u.mobile_country_code]
        else:
            users = await self.repository.all_with_mobile(_tenant_id(tenant), [digits])
            matches = [u for u in users if not cc or u.mobile_country_code in ("", cc)]
        return matches[0] if matches else None

    # Passwords ---------------------------------------------------------------------------

    @staticmethod
    async def check_password(user: TenantUser | None, password: str) -> bool:
        """Constant-work password check; an unknown user (``None``) costs the same and fails.

        A correct password whose hash was made with older argon2 parameters is hashed again
        with today's (kept with the request's unit of work); when the server is too busy to
        hash, that waits for a later sign-in.
        """
        valid = await verify_password(user.password_hash if user else None, password)
        if valid and user is not None and password_needs_rehash(user.password_hash):
            with contextlib.suppress(TooManyRequests):
                user.password_hash = await hash_password_async(password)
        return valid

    # Store access ------------------------------------------------------------------------

    async def grant_store_access(
        self,
        user: TenantUser,
        store: Store,
        *,
        role_uid: str = "cashier",
        role_name: str = "Cashier",
    ) -> UserStoreAccess:
        if store.tenant_id != user.tenant_id:
            raise ValidationFailed("The store belongs to another tenant")
        access = await self.repository.get_access(user.id, store.id)
        if access is None:
            access = UserStoreAccess(
                user_id=user.id, store_id=store.id, role_uid=role_uid, role_name=role_name
            )
            return await self.repository.add_access(access)
        access.role_uid, access.role_name = role_uid, role_name
        return access

    async def revoke_store_access(self, user: TenantUser, store: Store) -> None:
        access = await self.repository.get_access(user.id, store.id)
        if access is not None:
            await self.repository.remove_access(access)

    async def has_store_access(self, user: TenantUser, store: Store | int) -> bool:
        store_id = store if isinstance(store, int) else store.id
        if isinstance(store, Store) and store.tenant_id != user.tenant_id:
            return False
        if user.all_stores:
            return True
        return await self.repository.get_access(user.id, store_id) is not None

    async def store_roles(self, user: TenantUser) -> list[StoreRole]:
        """The stores the user may work in, with the role there (all-stores users: "admin")."""
        return [
            StoreRole(
                store,
                access.role_uid if access else "admin",
                access.role_name if access else "Administrator",
            )
            for store, access in await self.repository.stores_of(user)
        ]

    async def page_with_access_to_store(
        self,
        tenant: Tenant | int,
        store: Store | int,
        page: PageRequest,
        *,
        account_types: Sequence[AccountType] = (),
        active_only: bool = True,
    ) -> Page[TenantUser]:
        """Users who may work in ``store``; ``page.sort_by`` is one of :data:`USER_SORT_FIELDS`."""
        return await self.repository.page_with_access_to_store(
            _tenant_id(tenant),
            store if isinstance(store, int) else store.id,
            page,
            account_types=account_types,
            active_only=active_only,
        )


def is_tenant_admin(user: TenantUser) -> bool:
    return user.account_type == AccountType.FULL and TENANT_ADMIN in user.permissions


def _tenant_id(tenant: Tenant | int) -> int:
    return tenant if isinstance(tenant, int) else tenant.id
