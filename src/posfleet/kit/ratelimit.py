"""Attempt budgets shared by every replica, kept in the database, and the one registry of them.

Every budget posfleet enforces is a :class:`Policy` below: a name, the parts of its key, a limit
and a window read from :class:`Settings`, and the message of its 429.  Call sites name a policy
and give its key parts; none builds a key or picks a limit of its own.

Two kinds of budget:

* **windows** (:class:`RateLimiter`): attempts per key in a sliding window, e.g. per client
  address; the 429 ends when the window has moved on;
* **account delays** (:class:`AccountBudget`): attempts on one account since its last success,
  from any address.  The first ``account_free_attempts`` are free; after that each attempt must
  wait ``account_delay_base_seconds`` doubled per further attempt, at most
  ``account_delay_max_seconds``.  Nothing ever locks: the right password works once the delay
  has passed, so nobody can lock a victim out, only slow guessers down.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from posfleet.config import Settings
from posfleet.db import AfterRollback, affected_rows, on_rollback, session_scope
from posfleet.errors import TooManyRequests
from posfleet.kit.clock import utcnow
from posfleet.kit.meters import count_refusal
from posfleet.models.rate_limit_bucket import RateLimitBucket
from posfleet.models.sign_in_attempts import SignInAttempts


@dataclass(frozen=True, slots=True)
class Policy:
    """One budget: what it counts (``key`` names the parts), how many per window, its 429."""

    name: str
    key: tuple[str, ...]
    limit: Callable[[Settings], int]
    window: Callable[[Settings], int]
    message: str

    def key_for(self, parts: dict[str, str]) -> str:
        if set(parts) != set(self.key):
            raise TypeError(f"policy {self.name} is keyed by {self.key}, not {tuple(parts)}")
        return ":".join([self.name, *(parts[part] for part in self.key)])


def _per_address(s: Settings) -> int:
    return s.rate_limit_per_address


def _login_per_address(s: Settings) -> int:
    return s.login_rate_limit_per_address


def _window(s: Settings) -> int:
    return s.rate_limit_window_seconds


LINK = Policy(
    "link", ("address",), _per_address, _window,
    "Too many link attempts from this address; wait before trying again",
)  # fmt: skip
LOGIN = Policy(
    "login", ("address",), _login_per_address, _window,
    "Too many sign-in attempts from this address; try again later",
)  # fmt: skip
DEVICE_LOGIN = Policy(
    "device-login", ("address",), _login_per_address, _window,
    "Too many login attempts from this address; wait before trying again",
)  # fmt: skip
POS_LOGIN = Policy(
    "pos-login", ("tenant", "address"), _login_per_address, _window,
    "Too many attempts from this address; wait a moment",
)  # fmt: skip
POS_OTP = Policy(
    "pos-otp", ("tenant", "address"), _per_address, _window,
    "Too many attempts from this address; wait a moment",
)  # fmt: skip
POS_PAIR = Policy(
    "pos-pair", ("tenant", "address"), _per_address, _window,
    "Too many pairing attempts from this address; wait a moment",
)  # fmt: skip
OTP_RECIPIENT = Policy(
    "otp-recipient", ("tenant", "recipient"),
    lambda s: s.otp_sends_per_recipient, lambda s: s.otp_send_window_seconds,
    "Too many sign-in codes were sent to this recipient; wait before asking for another",
)  # fmt: skip
PAIRING_GUESSES = Policy(
    "pairing-guesses", ("tenant",), lambda s: s.pairing_guesses_per_tenant, _window,
    "Too many wrong pairing codes in this store; wait a moment and try again",
)  # fmt: skip
DEVICE_REGISTER = Policy(
    "device-register", ("address",), _per_address, _window,
    "Too many device registrations from this address; wait before trying again",
)  # fmt: skip
DEVICE_REGISTER_CLIENT = Policy(
    "device-register-client", ("client",), lambda s: s.device_flow_registrations_per_client,
    _window, "Too many device registrations for this client; wait before trying again",
)  # fmt: skip
DEVICE_CODE = Policy(
    "device-code", ("address",), _per_address, _window,
    "Too many device codes tried from this address; wait before trying again",
)  # fmt: skip
DEVICE_CODE_TENANT = Policy(
    "device-code-tenant", ("tenant",), lambda s: s.device_flow_attempts_per_tenant, _window,
    "Too many device codes tried for this tenant; wait before trying again",
)  # fmt: skip
ACCOUNT = Policy(
    "account", ("tenant", "user"),
    lambda s: s.account_free_attempts, lambda s: s.account_failure_memory_seconds,
    "Too many sign-in attempts on this account; wait before trying again",
)  # fmt: skip


def account(tenant_id: int | None, user_code: str) -> dict[str, str]:
    """The key parts of an account's budget: its tenant (``-`` when no tenant has the user
    code, so that unknown codes are delayed alike) and its user code, however it was typed."""
    return {
        "tenant": "-" if tenant_id is None else str(tenant_id),
        "user": user_code.strip().casefold(),
    }


POLICIES: tuple[Policy, ...] = (
    LINK,
    LOGIN,
    DEVICE_LOGIN,
    POS_LOGIN,
    POS_OTP,
    POS_PAIR,
    OTP_RECIPIENT,
    PAIRING_GUESSES,
    DEVICE_REGISTER,
    DEVICE_REGISTER_CLIENT,
    DEVICE_CODE,
    DEVICE_CODE_TENANT,
    ACCOUNT,
)


Insert = Callable[..., Any]  # the dialect's INSERT, which has ON CONFLICT


_WINDOWS = ("start", "before")  # this window's start and the previous one's


class RateLimiter:
    """Counts attempts per key in windows of ``window`` seconds, in the database.

    Pass the request's ``session`` once its unit of work has touched the database: SQLite has
    one writer at a time, so a second transaction would wait for the first one forever.  The
    attempt then commits with the request, or, should the request fail and roll back, in a
    transaction of its own afterwards (:func:`posfleet.db.on_rollback`): every attempt counts,
    the failed ones most of all.  Without a session the hit is one statement of its own:
    ``sessionmaker`` gives sessions that commit each statement (``per_statement``), and every
    statement made with it here stands alone.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], dialect: str) -> None:
        self._sessionmaker = sessionmaker
        self._insert: Insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # The statements are built once and take their values as parameters: building one (an
        # upsert with a subquery) and keying it into SQLAlchemy's compiled cache cost the event
        # loop about as much again as running it.
        self._charge_statement = self._upsert().returning(RateLimitBucket.count)
        earlier = aliased(RateLimitBucket)
        previous_count = (
            select(earlier.count)
            .where(earlier.key == bindparam("bucket"), earlier.window_start == bindparam("before"))
            .scalar_subquery()
        )
        self._charge_and_read = self._upsert().returning(RateLimitBucket.count, previous_count)
        self._read = select(RateLimitBucket.window_start, RateLimitBucket.count).where(
            RateLimitBucket.key == bindparam("bucket"),
            # Typed: a bare bindparam in a list would pass Python's datetime to the driver,
            # not the column type's stored form (SQLite keeps datetimes as text).
            RateLimitBucket.window_start.in_(
                [bindparam(name, type_=RateLimitBucket.window_start.type) for name in _WINDOWS]
            ),
        )
        self._accounts = _AccountStatements(self._insert)

    async def hit(
        self,
        policy: Policy,
        settings: Settings,
        *,
        session: AsyncSession | None = None,
        **parts: str,
    ) -> None:
        """Charge one attempt; raise 429 once more than the policy's limit fall in its window.

        The count is a sliding-window estimate: this window's attempts plus the previous
        window's, weighted by how much of it still lies within the last ``window`` seconds.  A
        burst that straddles a window boundary is therefore counted whole.
        """
        key, window = policy.key_for(parts), policy.window(settings)
        if session is not None:
            estimate, reset_in, start = await self._count(session, key, window, charge=True)
            self._charge_after_rollback(session, key, start)
        else:
            async with session_scope(self._sessionmaker) as own:
                estimate, reset_in, _ = await self._count(own, key, window, charge=True)
        if estimate > policy.limit(settings):
            count_refusal(policy.name)
            raise TooManyRequests(policy.message, retry_after=reset_in)

    async def check(
        self, policy: Policy, settings: Settings, *, session: AsyncSession, **parts: str
    ) -> None:
        """Raise 429 when the budget is spent, without charging an attempt (see :meth:`charge`)."""
        key, window = policy.key_for(parts), policy.window(settings)
        estimate, reset_in, _ = await self._count(session, key, window, charge=False)
        if estimate >= policy.limit(settings):
            count_refusal(policy.name)
            raise TooManyRequests(policy.message, retry_after=reset_in)

    async def charge(
        self, policy: Policy, settings: Settings, *, session: AsyncSession, **parts: str
    ) -> None:
        """Charge one attempt without judging it: for budgets of failures, checked up front."""
        key = policy.key_for(parts)
        start = _window_start(utcnow(), policy.window(settings))
        await self._charge(session, key, start)
        self._charge_after_rollback(session, key, start)

    def _charge_after_rollback(self, session: AsyncSession, key: str, start: datetime) -> None:
        async def charge_again(own: AsyncSession) -> None:
            await self._charge(own, key, start)

        on_rollback(session, charge_again)

    def _upsert(self) -> Any:
        insert_ = self._insert(RateLimitBucket).values(
            key=bindparam("bucket"), window_start=bindparam("start"), count=1
        )
        return insert_.on_conflict_do_update(
            index_elements=[RateLimitBucket.key, RateLimitBucket.window_start],
            set_={"count": RateLimitBucket.count + 1},
        )

    async def _charge(self, session: AsyncSession, key: str, start: datetime) -> int:
        charged = await session.execute(self._charge_statement, {"bucket": key, "start": start})
        return int(charged.scalar_one())

    async def _count(
        self, session: AsyncSession, key: str, window: int, *, charge: bool
    ) -> tuple[float, int, datetime]:
        now = utcnow()
        start = _window_start(now, window)
        before = start - timedelta(seconds=window)
        values = {"bucket": key, "start": start, "before": before}
        if charge:
            # One statement: charge this window and read the previous one's count with it.
            charged, found = (await session.execute(self._charge_and_read, values)).one()
            current, previous = int(charged), int(found or 0)
        else:
            rows = await session.execute(self._read, values)
            counts: dict[datetime, int] = {row[0]: row[1] for row in rows}
            current, previous = counts.get(start, 0), counts.get(before, 0)
        elapsed = (now - start).total_seconds() / window
        estimate = current + previous * (1 - elapsed)
        reset_in = int((start + timedelta(seconds=window) - now).total_seconds()) + 1
        return estimate, reset_in, start

    def accounts(self, settings: Settings) -> AccountBudget:
        return AccountBudget(settings, self._accounts)

    async def purge(self, older_than: datetime) -> int:
        """Forget counts older than ``older_than`` (``account_failure_memory_seconds`` is at most
        a day, and the caller passes a day, so no account attempt is forgotten early)."""
        async with session_scope(self._sessionmaker) as session:
            result = await session.execute(
                delete(RateLimitBucket).where(RateLimitBucket.window_start < older_than)
            )
            accounts = await session.execute(
                delete(SignInAttempts).where(SignInAttempts.last_attempt_at < older_than)
            )
        return affected_rows(result) + affected_rows(accounts)


class _AccountStatements:
    """The statements of :class:`AccountBudget`, built once per limiter (see its constructor)."""

    def __init__(self, insert_: Insert) -> None:
        self.first = (
            insert_(SignInAttempts)
            .values(key=bindparam("account"), attempts=1, last_attempt_at=bindparam("now"))
            .on_conflict_do_nothing()
            .returning(SignInAttempts.key)
        )
        self.read = select(SignInAttempts.attempts, SignInAttempts.last_attempt_at).where(
            SignInAttempts.key == bindparam("account")
        )
        self.charge = (
            update(SignInAttempts)
            .where(
                SignInAttempts.key == bindparam("account"),
                SignInAttempts.attempts == bindparam("seen_attempts"),
                SignInAttempts.last_attempt_at == bindparam("last"),
            )
            .values(attempts=bindparam("seen"), last_attempt_at=bindparam("now"))
            .execution_options(synchronize_session=False)
        )
        self.forget = (
            delete(SignInAttempts)
            .where(SignInAttempts.key.in_(bindparam("keys", expanding=True)))
            .execution_options(synchronize_session=False)
        )


class AccountBudget:
    """Growing delays between sign-in attempts on one account, from any address (see above).

    :meth:`enter` charges the attempt *before* the password is checked, with a conditional
    write on the count it saw: of concurrent attempts that saw one count, one goes on and the
    others look again, so a burst from many addresses meets the delay as a sequence would.
    :meth:`succeeded` forgets the attempts.  Attempts older than
    ``account_failure_memory_seconds`` are forgotten too.
    """

    RETRIES = 3

    def __init__(self, settings: Settings, statements: _AccountStatements) -> None:
        self.settings = settings
        self._statements = statements

    def delay(self, attempts: int) -> float:
        """Seconds the next attempt waits after ``attempts`` attempts since the last success."""
        extra = attempts - self.settings.account_free_attempts
        if extra < 0:
            return 0.0
        base = self.settings.account_delay_base_seconds
        return float(min(self.settings.account_delay_max_seconds, base * 2 ** min(extra, 40)))

    async def enter(self, session: AsyncSession, accounts: Sequence[dict[str, str]]) -> None:
        """Charge one attempt to each account, or raise 429 while one of them must wait."""
        for parts in accounts:
            await self._enter(session, ACCOUNT.key_for(parts))

    async def _enter(self, session: AsyncSession, key: str) -> None:
        memory = timedelta(seconds=self.settings.account_failure_memory_seconds)
        for _ in range(self.RETRIES):
            now = utcnow()
            # An account without attempts since its last success (the common case) is charged
            # by this one statement; otherwise its count decides.
            statements = self._statements
            first = await session.execute(statements.first, {"account": key, "now": now})
            if first.first() is not None:
                on_rollback(session, _recharge(key))
                return
            row = (await session.execute(statements.read, {"account": key})).first()
            if row is None:
                continue  # the attempts were forgotten (a success) in between: charge anew
            attempts, last = row
            seen = attempts if now - last <= memory else 0
            wait = self.delay(seen) - (now - last).total_seconds()
            if wait > 0:
                count_refusal(ACCOUNT.name)
                raise TooManyRequests(
                    ACCOUNT.message, retry_after=math.ceil(wait), code="sign_in_delayed"
                )
            result = await session.execute(
                statements.charge,
                {
                    "account": key,
                    "seen_attempts": attempts,
                    "last": last,
                    "seen": seen + 1,
                    "now": now,
                },
            )
            if affected_rows(result) == 1:
                on_rollback(session, _recharge(key))
                return
        count_refusal(ACCOUNT.name)
        raise TooManyRequests(
            ACCOUNT.message, retry_after=math.ceil(self.delay(0) or 1), code="sign_in_delayed"
        )

    async def succeeded(self, session: AsyncSession, accounts: Sequence[dict[str, str]]) -> None:
        keys = [ACCOUNT.key_for(parts) for parts in accounts]
        await session.execute(self._statements.forget, {"keys": keys})


def _recharge(key: str) -> AfterRollback:
    async def recharge(own: AsyncSession) -> None:
        # The request rolled back after its attempt was charged: charge it again, unconditionally.
        result = await own.execute(
            update(SignInAttempts)
            .where(SignInAttempts.key == key)
            .values(attempts=SignInAttempts.attempts + 1, last_attempt_at=utcnow())
        )
        if affected_rows(result) == 0:
            await own.execute(
                insert(SignInAttempts).values(key=key, attempts=1, last_attempt_at=utcnow())
            )

    return recharge


def _window_start(now: datetime, window: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window, tz=now.tzinfo)
