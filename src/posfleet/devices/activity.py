"""When each device was last seen, written off the request path.

A request only notes the time in process; a writer flushes the notes of every device in one
short unit of work about once a second (``ACTIVITY_FLUSH_SECONDS``) and when the process stops.
A device is still written at most once per ``activity_write_interval_seconds``: the note is
skipped while the stamp the request loaded is recent, and the conditional UPDATE keeps
replicas from writing the same interval twice.

A stamp does not drop the rows processes keep of the device (migration 0011), so the stamp a
request loads from them can be older than the one in the database.  The log therefore also
remembers, for one interval, the stamp each device was last flushed with (written here, or
found recent by the conditional UPDATE because another replica wrote it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from posfleet.db import session_scope
from posfleet.devices.access_repository import DeviceAccessRepository

ACTIVITY_FLUSH_SECONDS = 1.0


class ActivityLog:
    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._pending: dict[int, datetime] = {}
        self._flushed: dict[int, datetime] = {}

    def note(self, device_id: int, last_written: datetime | None, now: datetime) -> None:
        """The device was seen at ``now``; ``last_written`` is the stamp its row was loaded with."""
        flushed = self._flushed.get(device_id)
        if flushed is not None and (last_written is None or flushed > last_written):
            last_written = flushed
        if last_written is not None and now - last_written < self.interval:
            return
        self._pending.setdefault(device_id, now)

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Write every noted stamp in one unit of work (one statement, many parameter sets)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            async with session_scope(sessionmaker) as session:
                await DeviceAccessRepository(session).touch_activities(batch, self.interval)
        except BaseException:
            # Not lost to a database hiccup: the next flush writes them (newer notes win).
            for device_id, seen in batch.items():
                self._pending.setdefault(device_id, seen)
            raise
        # The database now holds, for every device of the batch, a stamp at most one interval
        # older than its note: this one, or another replica's that the conditional UPDATE kept.
        newest = max(batch.values())
        self._flushed = {
            device_id: at
            for device_id, at in self._flushed.items()
            if newest - at < self.interval and device_id not in batch
        }
        self._flushed.update(batch)
