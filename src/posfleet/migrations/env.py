"""Alembic environment: runs migrations on posfleet's own async engine, with progress."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from posfleet.config import Settings
from posfleet.db import create_engine
from posfleet.models import Base

# Search structures migrations 0002, 0012 and 0013 keep in the database itself (FTS5 tables and
# the tenants with devices out of creation order on SQLite, trigram indexes and the term table on
# PostgreSQL); no ORM model describes them, so `db check` leaves them out.
UNMAPPED_SEARCH_OBJECTS = (
    "devices_fts",
    "ix_devices_trgm_",
    "device_term",
    "ix_devices_terms_sort",
    "pk_device_terms",
    "ix_devices_long_text",
    "devices_out_of_order",
)
# The change log migration 0010 keeps for kit/changes.py on SQLite, written only by triggers.
UNMAPPED_CHANGE_LOG = ("auth_changes",)


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (
        reflected
        and compare_to is None
        and (name or "").startswith(UNMAPPED_SEARCH_OBJECTS + UNMAPPED_CHANGE_LOG)
    )


config = context.config
settings: Settings = config.attributes.get("settings") or Settings()


def _run(connection: Connection) -> None:
    def on_version_apply(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        # Long migrations show progress: one line per applied revision.
        script = step.up_revision if step.is_upgrade else None
        label = f"{script.revision} {script.doc}" if script is not None else step.down_revision_ids
        print(f"  migrated: {label}", flush=True)

    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
        on_version_apply=on_version_apply,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate() -> None:
    engine = create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.database_url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_migrate())
