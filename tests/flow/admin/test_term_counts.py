"""The term counts of migration 0015 give, for every fragment the term tables take, exactly the
number of devices a substring check of each device's text finds: once per device however many
of its terms start with the fragment, through inserts, text changes and deletes, per tenant."""

from __future__ import annotations

import importlib.util
from itertools import combinations
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.search_repository import _termed
from posfleet.devices.service import DeviceService
from posfleet.models.enums import AppCode
from posfleet.runtime import Runtime
from tests.flow.admin.support import Admin
from tests.flow.admin.test_search_terms import FRAGMENTS, expected, fleet, found, texts_of

# Text whose terms share long prefixes within and across fields, so that a device has several
# terms starting with one fragment.
REPEATS = [
    ("kasse12 kasse15 KASSE12x kasse1kasse1", "kasse123 host-kasse12"),
    ("abcabcabc abcab", "abcabcabcabc ABCABC"),
    ("pos-1 pos-12 pos-123 pos-1234", ""),
    # KELVIN SIGN: folded to k by both engines' search, so it must count as k.
    ("\u212aasse12 Kelvin", "kasse99"),
]
EXTRA = ["kasse1", "kasse12", "kasse12x", "sse1ka", "abc", "abcabc", "bcab", "pos-12", "os-1"]

# The field set is written into the statement: PostgreSQL's ``"char"`` takes no text argument.
COUNT = {
    field: text(
        "SELECT coalesce(sum(devices), 0) FROM device_term_counts "  # noqa: S608 (constant)
        f"WHERE tenant_id = :tenant AND field = '{field}' AND term >= :low AND term < :high "
        "AND shared < :length"
    )
    for field in "na"
}


async def counted(session: AsyncSession, a: Admin, fragment: str, free: bool) -> int:
    low = fragment.lower()
    params = {
        "tenant": a.tenant.id,
        "low": low,
        "high": low[:-1] + chr(ord(low[-1]) + 1),
        "length": len(fragment),
    }
    return int(await session.scalar(COUNT["a" if free else "n"], params) or 0)


def fragments(texts: list[tuple[str, str]]) -> list[str]:
    """The fixed fragments and every cut of three to eight characters of the texts' words."""
    cut = {
        word[i:j].lower()
        for name, other in texts
        for word in f"{name} {other}".split()
        for i, j in combinations(range(len(word) + 1), 2)
        if 3 <= j - i <= 8
    }
    return sorted(f for f in {*FRAGMENTS, *EXTRA, *cut} if _termed(f))


async def assert_counts_exact(
    session: AsyncSession, a: Admin, texts: list[tuple[str, str]]
) -> None:
    await session.commit()
    wrong = []
    for fragment in fragments(texts):
        for free in (False, True):
            want = len(expected(fragment, texts, free))
            got = await counted(session, a, fragment, free)
            if got != want:
                wrong.append((fragment, free, want, got))
    assert not wrong


async def test_counts_equal_a_substring_check_through_writes(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, uids = await fleet(session, runtime)
    other, _ = await fleet(session, runtime)  # another tenant's same texts count apart
    texts = texts_of(a)
    await assert_counts_exact(session, a, texts)

    service = DeviceService(session, runtime)
    for name, system in REPEATS:
        device, _ = await service.create(a.tenant.id, name=name, app_code=AppCode.CLIENT, actor="t")
        device.system_information = system
        uids.append(device.uid)
        texts.append((name, f"{system}\n{device.identifier or ''}"))
    await assert_counts_exact(session, a, texts)
    # The totals agree with the devices listed, page by page (found() checks each total).
    for fragment in ("kasse12", "kasse1", "abcabc", "pos-12", "sse12"):
        for free in (False, True):
            names = await found(client, a, page_size=2, **{"query" if free else "name": fragment})
            assert sorted(names) == sorted(expected(fragment, texts, free))

    # A rename and new system information through the API.
    r = await client.put(a.url(f"/{uids[0]}"), json={"name": "abc kasse12 Nord"}, headers=a.headers)
    assert r.status_code == 200, r.text
    texts[0] = ("abc kasse12 Nord", texts[0][1])
    device = await service.get(a.tenant.id, uids[1])
    device.system_information = "kasse12 kasse12 6.1.0-abc"
    texts[1] = (texts[1][0], f"{device.system_information}\n{device.identifier or ''}")
    await assert_counts_exact(session, a, texts)

    # Deletes take their counts away; rows left at zero are removed.
    for n in (2, len(uids) - 1):
        r = await client.delete(a.url(f"/{uids[n]}"), headers=a.headers)
        assert r.status_code in (200, 204), r.text
    texts = [t for n, t in enumerate(texts) if n not in (2, len(uids) - 1)]
    await assert_counts_exact(session, a, texts)
    zero = "SELECT count(*) FROM device_term_counts WHERE devices <= 0"
    assert await session.scalar(text(zero)) == 0

    # One transaction: a device renamed twice, another created and deleted again.
    device = await service.get(a.tenant.id, uids[0])
    device.name = "kasse12 first"
    await session.flush()
    device.name = "kasse15 kasse12 second"
    await session.flush()
    texts[0] = ("kasse15 kasse12 second", texts[0][1])
    passing, _ = await service.create(
        a.tenant.id, name="kasse12 passing", app_code=AppCode.CLIENT, actor="t"
    )
    await session.flush()
    await session.delete(passing)
    await assert_counts_exact(session, a, texts)

    if session.get_bind().dialect.name == "postgresql":
        # Every transaction counted its queued devices before it committed.
        queued = "SELECT count(*) FROM device_term_count_changes"
        assert await session.scalar(text(queued)) == 0

    # The other tenant's counts never moved.
    await assert_counts_exact(session, other, texts_of(other))
    # What the triggers kept is what the migration's backfill computes from the devices.
    assert await backfilled(session, a) == await kept(session, a)


MIGRATION = (
    Path(__file__).resolve().parents[3]
    / "src/posfleet/migrations/versions/0015_device_term_counts.py"
)


def migration() -> Any:
    spec = importlib.util.spec_from_file_location("device_term_counts", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _field(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def backfilled(session: AsyncSession, a: Admin) -> set[tuple[str, str, int, int]]:
    m = migration()
    source = (
        "SELECT tenant_id, id, name, identifier, system_information FROM devices "
        "WHERE tenant_id = :tenant"
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = m._pg_rows(f"({source})") if postgres else m._sqlite_rows(source)
    found = await session.execute(text(rows), {"tenant": a.tenant.id})
    return {(_field(f), t, int(s), int(n)) for _, f, t, s, n in found}


async def kept(session: AsyncSession, a: Admin) -> set[tuple[str, str, int, int]]:
    found = await session.execute(
        text("SELECT field, term, shared, devices FROM device_term_counts WHERE tenant_id = :t"),
        {"t": a.tenant.id},
    )
    return {(_field(f), t, int(s), int(n)) for f, t, s, n in found}
