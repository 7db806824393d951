"""Single-use secrets: one implementation of what every one-time code does with its row.

Link codes, pairing codes, OTP challenges and device authorization grants are all rows with
a ``state`` that starts *live* and leaves it exactly once.  The four operations are:

- **draw** a code that is unique among live ones: insert in a savepoint and draw again when a
  partial unique index refuses it (the index, not a prior SELECT, decides, so two requests
  cannot both take one code);
- **charge** a failed attempt and lock at the budget, in *one* conditional UPDATE (two
  statements would let concurrent failures each read a count below the limit);
- **spend** with ``UPDATE … WHERE state = live`` and a row-count check: of concurrent spends
  exactly one changes the row, on SQLite and PostgreSQL alike;
- **revoke** every live row with given column values (a device's codes).

The statements of spend and revoke are built once and take their values as parameters:
building a statement, and computing its key into SQLAlchemy's compiled cache, costs the event
loop more than running it does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Update, bindparam, case, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows

RowT = TypeVar("RowT")

DRAWS = 8


class CodeSpaceExhausted(RuntimeError):
    """Every draw collided with a live code: the code length is too short for the load."""


class SingleUse(Generic[RowT]):
    """The operations on one table of single-use rows (``id``, ``state``, a stamp column and,
    when attempts are charged, ``failed_attempts``)."""

    def __init__(
        self,
        model: type[RowT],
        *,
        live: str = "LIVE",
        spent: str = "SPENT",
        locked: str = "LOCKED",
        revoked: str = "REVOKED",
        stamp: str = "spent_at",
    ) -> None:
        self.model = model
        self._table: Any = model
        self.live, self.spent, self.locked, self.revoked = live, spent, locked, revoked
        self._stamp = stamp
        self._spend = self._spend_statement()
        self._revokes: dict[tuple[str, ...], Update] = {}

    def _spend_statement(self) -> Update:
        table = self._table
        return (
            update(table)
            .where(table.id == bindparam("row_id"), self._is_live())
            .values({"state": bindparam("to"), self._stamp: bindparam("now")})
            .execution_options(synchronize_session=False)
        )

    def _is_live(self) -> ColumnElement[bool]:
        result: ColumnElement[bool] = self._table.state == self.live
        return result

    async def draw(
        self,
        session: AsyncSession,
        new_code: Callable[[], str],
        build: Callable[[str], RowT],
        draws: int = DRAWS,
    ) -> tuple[RowT, str]:
        """Insert ``build(code)`` for a fresh ``new_code()`` until one is unique; answer the
        row and the code in clear (which is never stored)."""
        for _ in range(draws):
            code = new_code()
            row = build(code)
            try:
                async with session.begin_nested():
                    session.add(row)
                    await session.flush()
            except IntegrityError:
                continue  # the same code is live already; only this insert rolled back
            return row, code
        raise CodeSpaceExhausted(f"could not draw a unique {self._table.__tablename__} code")

    async def spend(
        self,
        session: AsyncSession,
        row_id: int,
        now: datetime,
        *,
        to: str | None = None,
        **values: Any,
    ) -> bool:
        """Move a live row to ``to`` (spent by default); False when another request (or a
        revocation, or a lock) got there first."""
        state = to or self.spent
        if values:
            statement = (
                update(self._table)
                .where(self._table.id == row_id, self._is_live())
                .values({"state": state, self._stamp: now, **values})
                .execution_options(synchronize_session=False)
            )
            return affected_rows(await session.execute(statement)) == 1
        result = await session.execute(self._spend, {"row_id": row_id, "to": state, "now": now})
        return affected_rows(result) == 1

    async def charge(
        self,
        session: AsyncSession,
        where: ColumnElement[bool],
        max_failures: int,
        now: datetime,
    ) -> list[str]:
        """Count one failed attempt on every live row ``where`` selects and lock those that
        reach ``max_failures``, in one statement; answer the states the rows now have (empty
        when none was live)."""
        table = self._table
        failures = table.failed_attempts + 1
        locks = failures >= max_failures
        result = await session.execute(
            update(table)
            .where(where, self._is_live())
            .values(
                {
                    "failed_attempts": failures,
                    "state": case((locks, self.locked), else_=table.state),
                    self._stamp: case((locks, now), else_=getattr(table, self._stamp)),
                }
            )
            .returning(table.state)
            .execution_options(synchronize_session=False)
        )
        return [str(state) for state in result.scalars().all()]

    async def revoke(self, session: AsyncSession, now: datetime, **match: Any) -> int:
        """Every live row whose columns have the values ``match`` gives (``device_id=…``) stops
        working; answer how many did."""
        columns = tuple(sorted(match))
        statement = self._revokes.get(columns)
        if statement is None:
            statement = self._revokes[columns] = (
                update(self._table)
                .where(*(getattr(self._table, c) == bindparam(f"match_{c}") for c in columns))
                .where(self._is_live())
                .values({"state": self.revoked, self._stamp: bindparam("now")})
                .execution_options(synchronize_session=False)
            )
        values = {f"match_{c}": v for c, v in match.items()}
        return affected_rows(await session.execute(statement, {**values, "now": now}))
