"""Substring search through the term indexes of migration 0012 finds exactly what a substring
check of each device's text finds, through writes, on pages of many matches, per tenant."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices import search_repository
from posfleet.devices.service import DeviceService
from posfleet.models.enums import AppCode
from posfleet.runtime import Runtime
from tests import factories
from tests.flow.admin.support import Admin, admin

NAMES = [
    "Kasse 1 Nord",
    "KASSE 12 nord",
    "kasse12-Süd",
    "Lager (B) #7",
    "ØST kasse 120",
    "front 6.1.0-kasse12",
    "x86_64 kassekasse",
    "Café 3.1",
]
SYSTEM = [
    "Linux host-1 6.1.0-kasse1 x86_64",
    "",
    "Android 12; SM-T500 [build 6.1.0-kasse12]",
    "Linux lager 6.1.0-amd64",
    "Windows 11 Pro",
    "Linux host-6 6.1.0-kasse120 x86_64",
    "ÄÖÜ 6.1.0-KASSE12",
    "",
]
FRAGMENTS = [
    "kasse",
    "KASSE1",
    "kasse12",
    "sse12",
    "se 12",  # a space: the trigram index
    "6.1.0-kasse12",
    "6.1.0-kasse1",
    "x86_64",
    "(b) #7",
    "[build",
    "ssekas",
    "nord",
    "süd",  # not ASCII: the trigram index
    "st kasse",
    "12-s",
    "host-",
    "café",
    "3.1",
    "zzz",
    "ka",  # short: LIKE
    "dent-",  # in identifiers
]


def identifier(a: Admin, n: int) -> str:
    return f"ident-{a.tenant.id}-{n}"


def texts_of(a: Admin) -> list[tuple[str, str]]:
    """(name, everything free text looks at) of each device of :func:`fleet`."""
    return [
        (name, f"{system}\n{identifier(a, n)}")
        for n, (name, system) in enumerate(zip(NAMES, SYSTEM, strict=True))
    ]


async def fleet(session: AsyncSession, runtime: Runtime) -> tuple[Admin, list[str]]:
    a = await admin(session, runtime)
    service = DeviceService(session, runtime)
    uids = []
    for name, system in zip(NAMES, SYSTEM, strict=True):
        device, _ = await service.create(a.tenant.id, name=name, app_code=AppCode.CLIENT, actor="t")
        device.system_information = system
        # Free text searches identifiers too: the ones made here are known to the checks.
        device.identifier = identifier(a, len(uids))
        uids.append(device.uid)
    await session.commit()
    return a, uids


SORTS = [("name", "ASC"), ("createdAt", "ASC"), ("createdAt", "DESC"), ("status", "DESC")]


async def found(
    client: httpx.AsyncClient,
    a: Admin,
    page_size: int = 50,
    sort: tuple[str, str] = ("name", "ASC"),
    **body: str,
) -> list[str]:
    """Names of every match in order, page by page along the cursor, checking the total on
    each page."""
    names: list[str] = []
    url = a.url(f"/search?sortBy={sort[0]}&sortDirection={sort[1]}&pageSize={page_size}")
    total = None
    while True:
        r = await client.post(url, json=body, headers=a.headers)
        assert r.status_code == 200, r.text
        paging = r.json()["paging"]
        assert total in (None, paging["totalCount"])
        total = paging["totalCount"]
        names += [item["name"] for item in r.json()["items"]]
        if "nextCursor" not in paging:
            break
        url = a.url(f"/search?cursor={paging['nextCursor']}")
    assert total == len(names)
    return names


async def listed(client: httpx.AsyncClient, a: Admin, sort: tuple[str, str]) -> list[str]:
    """The names of the tenant's whole fleet in ``sort`` order (a list, no search)."""
    r = await client.get(
        a.url(f"?sortBy={sort[0]}&sortDirection={sort[1]}&pageSize=500"), headers=a.headers
    )
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()["items"]]


def expected(fragment: str, texts: list[tuple[str, str]], free: bool) -> set[str]:
    low = fragment.lower()
    return {n for n, s in texts if low in n.lower() or (free and low in s.lower())}


# How a page of term matches is found (search_repository): the sort index walked checking each
# device's text; a walk too short for the page, then the term table; the term table with each
# match's row read and sorted (SQLite) or its range read whole (PostgreSQL); the term table with
# the sort index walked (SQLite) or each term's first rows merged (PostgreSQL).
WAYS = {
    "text walk": {"_WALK_ROWS": 10**9, "_WALK_MARGIN": 10**6},
    "short walk": {"_WALK_ROWS": 10**9, "_WALK_MARGIN": 0, "_WALK_SLACK": 1},
    "rows read": {"_WALK_ROWS": 0, "_ROW_READ_ENTRIES": 0, "_MERGED_ROWS": 0},
    "index walk": {"_WALK_ROWS": 0, "_ROW_READ_ENTRIES": 10**9, "_MERGED_ROWS": 10**9},
}


@pytest.mark.parametrize("way", WAYS)
async def test_name_and_free_text_find_exactly_the_devices_containing_the_fragment(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    way: str,
) -> None:
    """In every sort order, each way a page is found (:data:`WAYS`), and on pages of two, so
    pages after the first are served that way too."""
    for name, value in WAYS[way].items():
        monkeypatch.setattr(search_repository, name, value)
    a, _ = await fleet(session, runtime)
    texts = texts_of(a)
    for sort in SORTS:
        everything = await listed(client, a, sort)
        for fragment in FRAGMENTS:
            for free in (False, True):
                hits = expected(fragment, texts, free)
                in_order = [n for n in everything if n in hits]
                body = {"query" if free else "name": fragment}
                got = await found(client, a, sort=sort, **body)
                assert got == in_order, (body, sort, got, in_order)
        for fragment in ("kasse", "6.1.0-kasse1", "x86"):
            hits = expected(fragment, texts, True)
            in_order = [n for n in everything if n in hits]
            assert await found(client, a, page_size=2, sort=sort, query=fragment) == in_order


async def test_page_numbers_of_a_term_search_are_those_of_the_list(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, _ = await fleet(session, runtime)
    texts = texts_of(a)
    everything = await listed(client, a, ("createdAt", "ASC"))
    hits = [n for n in everything if n in expected("kasse", texts, True)]
    for number in range(1, 5):
        r = await client.post(
            a.url(f"/search?pageSize=2&pageNumber={number}"),
            json={"query": "kasse"},
            headers=a.headers,
        )
        assert r.status_code == 200, r.text
        assert [i["name"] for i in r.json()["items"]] == hits[(number - 1) * 2 : number * 2]
        assert r.json()["paging"]["totalCount"] == len(hits)


async def test_renames_new_system_information_and_deletes_change_what_is_found(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, uids = await fleet(session, runtime)
    r = await client.put(a.url(f"/{uids[3]}"), json={"name": "Depot 9"}, headers=a.headers)
    assert r.status_code == 200, r.text
    assert await found(client, a, name="lager") == []
    assert await found(client, a, name="depot") == ["Depot 9"]
    assert await found(client, a, query="6.1.0-amd64") == ["Depot 9"]
    service = DeviceService(session, runtime)
    device = await service.get(a.tenant.id, uids[3])
    device.system_information = "FreeBSD 14"
    await session.commit()
    assert await found(client, a, query="6.1.0-amd64") == []
    assert await found(client, a, query="freebsd") == ["Depot 9"]
    assert (await client.delete(a.url(f"/{uids[3]}"), headers=a.headers)).status_code == 204
    assert await found(client, a, query="freebsd") == []
    assert await found(client, a, name="depot") == []


async def test_text_past_the_cut_positions_is_found(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """System information longer than the 4,096 positions cut into terms is still searched."""
    a, uids = await fleet(session, runtime)
    service = DeviceService(session, runtime)
    device = await service.get(a.tenant.id, uids[7])
    device.system_information = "x" * 5000 + " tail-marker-42"
    await session.commit()
    assert await found(client, a, query="tail-marker-42") == ["Café 3.1"]
    assert await found(client, a, query="TAIL-MARKER") == ["Café 3.1"]
    assert await found(client, a, name="tail-marker") == []
    # With long text in the tenant, a term search takes the way that reads device rows.
    texts = texts_of(a)
    assert set(await found(client, a, name="kasse1")) == expected("kasse1", texts, False)


async def test_a_backtick_in_the_text_cannot_reach_another_tenants_terms(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """SQLite terms are tagged ``<tenant>`<term>``: text that spells another tenant's tag is
    still found only in its own tenant."""
    a, _ = await fleet(session, runtime)
    b, _ = await fleet(session, runtime)
    service = DeviceService(session, runtime)
    await service.create(
        b.tenant.id, name=f"x {a.tenant.id}`forged", app_code=AppCode.CLIENT, actor="t"
    )
    await session.commit()
    assert await found(client, a, name="forged") == []
    assert await found(client, a, query="forged") == []
    assert await found(client, b, name="forged") == [f"x {a.tenant.id}`forged"]


@pytest.mark.parametrize("way", WAYS)
async def test_matches_of_other_tenants_are_neither_listed_nor_counted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    way: str,
) -> None:
    for name, value in WAYS[way].items():
        monkeypatch.setattr(search_repository, name, value)
    a, _ = await fleet(session, runtime)
    b, _ = await fleet(session, runtime)
    service = DeviceService(session, runtime)
    await service.create(b.tenant.id, name="kasse only in b", app_code=AppCode.CLIENT, actor="t")
    await session.commit()
    texts = texts_of(a)
    for sort in SORTS:
        assert set(await found(client, a, sort=sort, name="kasse")) == expected(
            "kasse", texts, False
        )
        assert set(await found(client, a, sort=sort, query="6.1.0-kasse1")) == expected(
            "6.1.0-kasse1", texts, True
        )
        assert await found(client, a, sort=sort, name="only in b") == []
        assert len(await found(client, b, sort=sort, name="kasse")) == (
            len(expected("kasse", texts, False)) + 1
        )


async def test_an_update_that_leaves_the_text_alone_writes_no_term(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, backend: str
) -> None:
    """App code, status, store and other changes are on hot paths: they must not rewrite a device's
    terms.  PostgreSQL: the term rows keep the transaction id that wrote them."""
    if backend != "postgresql":
        pytest.skip("SQLite's trigger fires only on the text columns (UPDATE OF)")
    a, uids = await fleet(session, runtime)
    device = await DeviceService(session, runtime).get(a.tenant.id, uids[0])
    query = text("SELECT xmin::text, term FROM device_terms WHERE device_id = :id ORDER BY term")
    before = (await session.execute(query, {"id": device.id})).all()
    assert before
    r = await client.put(a.url(f"/{uids[0]}"), json={"appCode": "ASSISTANT"}, headers=a.headers)
    assert r.status_code == 200, r.text
    await session.commit()
    assert (await session.execute(query, {"id": device.id})).all() == before
    r = await client.put(a.url(f"/{uids[0]}"), json={"name": "Kasse 1 Süd"}, headers=a.headers)
    assert r.status_code == 200, r.text
    await session.commit()
    after = (await session.execute(query, {"id": device.id})).all()
    assert {t for _, t in after} != {t for _, t in before}
    assert "süd" in {t for _, t in after}


async def out_of_order(session: AsyncSession, backend: str) -> set[int]:
    """SQLite: the tenants migration 0013 lists as having devices out of creation order."""
    if backend != "sqlite":
        return set()
    return set((await session.scalars(text("SELECT tenant_id FROM devices_out_of_order"))).all())


@pytest.mark.parametrize("how", ["created", "changed"])
async def test_term_matches_are_sorted_by_creation_when_ids_are_not_in_creation_order(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    backend: str,
    how: str,
) -> None:
    """On SQLite a term search of a tenant whose creation times grow with its ids takes the
    term table's id order as the order by creation; a device written with an earlier creation
    time than older devices (``created``, as an import keeping creation times writes it) or given
    one afterwards (``changed``) marks its tenant, which is then sorted the general way."""
    in_order, _ = await fleet(session, runtime)
    a, _ = await fleet(session, runtime)
    device_rows = await DeviceService(session, runtime).repo.overview(a.tenant.id, None)
    earliest = min(d.created_at for d, *_ in device_rows)
    assert not {in_order.tenant.id, a.tenant.id} & await out_of_order(session, backend)
    if how == "created":
        await factories.device(
            session, a.tenant, name="kasse backdated", created_at=earliest - timedelta(days=1)
        )
    else:
        device, _ = await DeviceService(session, runtime).create(
            a.tenant.id, name="kasse backdated", app_code=AppCode.CLIENT, actor="t"
        )
        await session.flush()
        device.created_at = earliest - timedelta(days=1)
    await session.commit()
    if backend == "sqlite":
        listed_now = await out_of_order(session, backend)
        assert a.tenant.id in listed_now
        assert in_order.tenant.id not in listed_now
    for tenant in (in_order, a):
        texts = [*texts_of(tenant), *([("kasse backdated", "")] if tenant is a else [])]
        for sort in (("createdAt", "ASC"), ("createdAt", "DESC")):
            everything = await listed(client, tenant, sort)
            for fragment, free in (("kasse", False), ("kasse", True), ("6.1.0-kasse1", True)):
                hits = expected(fragment, texts, free)
                in_sorted = [n for n in everything if n in hits]
                body = {"query" if free else "name": fragment}
                assert await found(client, tenant, sort=sort, **body) == in_sorted, (body, sort)
                assert await found(client, tenant, page_size=2, sort=sort, **body) == in_sorted
                for number in (1, 2):
                    r = await client.post(
                        tenant.url(
                            f"/search?pageSize=2&pageNumber={number}"
                            f"&sortBy={sort[0]}&sortDirection={sort[1]}"
                        ),
                        json=body,
                        headers=tenant.headers,
                    )
                    assert r.status_code == 200, r.text
                    names = [i["name"] for i in r.json()["items"]]
                    assert names == in_sorted[(number - 1) * 2 : number * 2], (body, sort, number)
    assert (await found(client, a, sort=("createdAt", "ASC"), name="kasse"))[0] == "kasse backdated"
