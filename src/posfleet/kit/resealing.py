"""Re-encrypting a sealed column under the newest server secret, a batch at a time.

One mechanism for every table that keeps something encrypted with the server secret (signing
keys, webhook signing secrets, queued messages): each owner declares its column with a
:class:`Resealer` (as single-use codes declare :class:`~posfleet.kit.single_use.SingleUse`) and
says how one value is opened and sealed again.  Each row is rewritten with a conditional UPDATE
(``WHERE id = … AND secret_key_id = <as read> AND <column> = <as read>``), so a row that another
request changed or blanked meanwhile is left as that request left it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.db import affected_rows
from posfleet.kit.keyring import ServerSecrets

RowT = TypeVar("RowT")

# (sealed bytes, the secret they were sealed under, the newest secret, the row) -> sealed again
Reseal = Callable[[bytes, bytes, bytes, Row[Any]], bytes]


@dataclass(frozen=True, slots=True)
class ResealBatch:
    """One batch: the last row id looked at (None when no row was left), rows re-encrypted (or,
    in a dry run, that would be), and rows sealed under a secret that is no longer listed."""

    last_id: int | None
    resealed: int
    unreadable: int


class Resealer(Generic[RowT]):
    def __init__(
        self, model: type[RowT], column: str, reseal: Reseal, *, extra: tuple[str, ...] = ()
    ) -> None:
        self._table: Any = model
        self._column = column
        self._reseal = reseal
        self._extra = extra

    async def batch(
        self,
        session: AsyncSession,
        secrets: ServerSecrets,
        after_id: int,
        limit: int,
        *,
        dry_run: bool,
    ) -> ResealBatch:
        """Re-encrypt up to ``limit`` rows with an id above ``after_id`` that are sealed under
        another secret than the newest."""
        table = self._table
        sealed = getattr(table, self._column)
        rows = (
            await session.execute(
                select(
                    table.id,
                    sealed,
                    table.secret_key_id,
                    *(getattr(table, name) for name in self._extra),
                )
                .where(
                    table.id > after_id,
                    sealed.is_not(None),
                    table.secret_key_id != secrets.current_id,
                )
                .order_by(table.id)
                .limit(limit)
            )
        ).all()
        resealed = unreadable = 0
        for row in rows:
            old = secrets.by_id(row.secret_key_id)
            if old is None:
                unreadable += 1
                continue
            if dry_run:
                resealed += 1
                continue
            result = await session.execute(
                update(table)
                .where(table.id == row.id, table.secret_key_id == row.secret_key_id)
                .where(sealed == row[1])
                .values(
                    {
                        self._column: self._reseal(row[1], old, secrets.current, row),
                        "secret_key_id": secrets.current_id,
                    }
                )
                .execution_options(synchronize_session=False)
            )
            resealed += affected_rows(result)
        return ResealBatch(rows[-1].id if rows else None, resealed, unreadable)
