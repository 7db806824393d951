"""The rows tokens are checked against, kept in process.

A device token is still checked against its device's status and credential generation and its
tenant on every request, and a user's token against the user's token version, status and
permissions and its tenant; the rows come from here while ``kit/changes.py`` vouches that nothing
changed them, else from the database.  Entries are dropped by the row they hold (a row this
process, another replica or the CLI changed), all at once (a notification may have been lost,
changes were not heard), and a lookup that started before a drop never stores what it read.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from posfleet.models import Device, Tenant, TenantUser

Key = tuple[str, str]  # (tenant uid, device or user uid), as the token names them
Row = TypeVar("Row", Device, TenantUser)


class LiveRows(Generic[Row]):
    """Tenants and their rows of ``table`` (a device or a user), by the uids a token names."""

    def __init__(self, max_entries: int, table: str) -> None:
        self.max_entries = max_entries
        self.table = table
        # Moves on every drop: a lookup that read the database before a drop must not store.
        self.generation = 0
        self._entries: dict[Key, tuple[Tenant, Row]] = {}
        self._by_row: dict[tuple[str, int], set[Key]] = {}
        # Keys being read from the database right now, set when the read ends (flow/device.py).
        self.reading: dict[Key, asyncio.Event] = {}

    def get(self, key: Key) -> tuple[Tenant, Row] | None:
        return self._entries.get(key)

    def put(self, key: Key, tenant: Tenant, row: Row, generation: int) -> None:
        if generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self.drop(None, None)
            return
        self._entries[key] = (tenant, row)
        self._by_row.setdefault(("tenants", tenant.id), set()).add(key)
        self._by_row.setdefault((self.table, row.id), set()).add(key)

    def drop(self, table: str | None, row_id: int | None) -> None:
        """Forget the entries holding ``table``'s row ``row_id``, or all with ``None``."""
        self.generation += 1
        if table is None or row_id is None:
            self._entries.clear()
            self._by_row.clear()
            return
        for key in self._by_row.pop((table, row_id), ()):
            self._entries.pop(key, None)


LiveDevices = LiveRows[Device]
LiveUsers = LiveRows[TenantUser]
