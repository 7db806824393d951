"""Listing and searching devices: paging, sorting, filters and exact totals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.search_repository import ListedDevice, ListedStore, ListedTill
from posfleet.devices.service import DeviceService, ListedDetails
from posfleet.devices.settings import SettingView
from posfleet.flow.admin_schemas import DeviceList
from posfleet.kit.pagination import Page
from posfleet.models import DeviceSettingDefinition, Printer
from posfleet.models.enums import AppCode, DeviceStatus, PrinterType, SettingType
from posfleet.runtime import Runtime
from tests import factories
from tests.flow.admin.support import Admin, admin


async def fleet(session: AsyncSession, runtime: Runtime) -> tuple[Admin, list[str]]:
    """A tenant with seven devices named d0..d6 (d0..d2 in the admin's store, on tills)."""
    a = await admin(session, runtime)
    service = DeviceService(session, runtime)
    uids = []
    for i in range(7):
        till = a.till if i == 0 else None
        device, _ = await service.create(
            a.tenant.id,
            name=f"d{i} {'kasse' if i % 2 else 'lager'}",
            app_code=AppCode.ASSISTANT if i == 6 else AppCode.CLIENT,
            actor="t",
            store_uid=a.store.uid if i < 3 else None,
            till_uid=till.uid if till else None,
        )
        if i == 5:
            device.system_information = "Linux till-05 6.1.0-amd64"
            await service.activate(device, "t", how="test")
        uids.append(device.uid)
    await session.commit()
    return a, uids


async def names(client: httpx.AsyncClient, a: Admin, params: str = "", **body: object) -> list[str]:
    if body:
        r = await client.post(a.url("/search" + params), json=body, headers=a.headers)
    else:
        r = await client.get(a.url(params), headers=a.headers)
    assert r.status_code == 200, r.text
    return [item["name"].split()[0] for item in r.json()["items"]]


async def test_pages_are_1_based_with_an_exact_total(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, _ = await fleet(session, runtime)
    r = await client.get(a.url("?pageNumber=2&pageSize=3&sortBy=name"), headers=a.headers)
    paging = r.json()["paging"]
    assert paging.pop("nextCursor")  # page 3 follows
    assert paging == {"pageNumber": 2, "pageSize": 3, "totalCount": 7}
    assert [i["name"].split()[0] for i in r.json()["items"]] == ["d3", "d4", "d5"]
    last = await names(client, a, "?pageNumber=3&pageSize=3&sortBy=name")
    assert last == ["d6"]
    assert await names(client, a, "?pageNumber=9&pageSize=3") == []
    default = await client.get(a.url(), headers=a.headers)
    assert default.json()["paging"]["pageSize"] == runtime.settings.page_size_default


async def test_deep_pages_read_from_the_far_end_keep_the_order(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, _ = await fleet(session, runtime)
    pages = [
        await names(client, a, f"?pageNumber={n}&pageSize=2&sortBy=name") for n in (1, 2, 3, 4)
    ]
    assert pages == [["d0", "d1"], ["d2", "d3"], ["d4", "d5"], ["d6"]]
    down = [
        await names(client, a, f"?pageNumber={n}&pageSize=2&sortBy=name&sortDirection=DESC")
        for n in (1, 2, 3, 4)
    ]
    assert down == [["d6", "d5"], ["d4", "d3"], ["d2", "d1"], ["d0"]]


@pytest.mark.parametrize("sort_by", ["createdAt", "lastModifiedAt", "name", "status", "deviceUid"])
async def test_every_documented_sort_field_orders_both_ways(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, sort_by: str
) -> None:
    a, _ = await fleet(session, runtime)
    up = await client.get(a.url(f"?sortBy={sort_by}&sortDirection=ASC"), headers=a.headers)
    down = await client.get(a.url(f"?sortBy={sort_by}&sortDirection=DESC"), headers=a.headers)
    field = sort_by
    up_values = [i[field] for i in up.json()["items"]]
    assert up_values == sorted(up_values)
    assert [i["deviceUid"] for i in down.json()["items"]] != [
        i["deviceUid"] for i in up.json()["items"]
    ] or len(set(up_values)) == 1
    assert sorted(i[field] for i in down.json()["items"]) == sorted(up_values)


@pytest.mark.parametrize(
    "query",
    [
        "?sortBy=password",
        "?sortDirection=SIDEWAYS",
        "?pageSize=0",
        "?pageSize=501",
        "?pageNumber=0",
        "?pageNumber=-3",
        "?pageNumber=abc",
        "?pageNumber=99999999999999999999999",
        "?deviceStoreUid=not%20a%20uid",
    ],
)
async def test_absurd_paging_and_sorting_are_400(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, query: str
) -> None:
    a = await admin(session, runtime)
    answers = [await client.get(a.url(query), headers=a.headers)]
    if "deviceStoreUid" not in query:  # search has no store filter
        answers.append(await client.post(a.url("/search" + query), json={}, headers=a.headers))
    for r in answers:
        assert r.status_code == 400, (query, r.text)
        assert set(r.json()) == {"code", "message", "logId"}


async def test_the_store_filter_lists_only_that_stores_devices(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, _ = await fleet(session, runtime)
    r = await client.get(a.url(f"?deviceStoreUid={a.store.uid}&sortBy=name"), headers=a.headers)
    assert [i["name"].split()[0] for i in r.json()["items"]] == ["d0", "d1", "d2"]
    assert r.json()["paging"]["totalCount"] == 3
    unknown = await client.get(a.url("?deviceStoreUid=nowhere"), headers=a.headers)
    assert unknown.json() == {
        "items": [],
        "paging": {"pageNumber": 1, "pageSize": 50, "totalCount": 0},
    }


async def test_search_by_name_text_identifier_app_code_and_status(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, uids = await fleet(session, runtime)
    q = "?sortBy=name"
    assert await names(client, a, q, name="KASSE") == ["d1", "d3", "d5"]
    assert await names(client, a, q, name="d4") == ["d4"]
    assert await names(client, a, q, name="5 k") == ["d5"]
    assert await names(client, a, q, query="johans") == ["d0", "d1", "d2"]  # store name
    assert await names(client, a, q, query="counter") == ["d0"]  # till name
    assert await names(client, a, q, query="amd64") == ["d5"]  # system information
    assert await names(client, a, q, query="%") == []
    assert await names(client, a, q, appCode="ASSISTANT") == ["d6"]
    assert await names(client, a, q, statuses=["ACTIVE", "BLOCKED"]) == ["d5"]
    assert await names(client, a, q, statuses=["READY_TO_LINK"], name="kasse") == ["d1", "d3"]
    service = DeviceService(session, runtime)
    identifier = (await service.get(a.tenant.id, uids[5])).identifier
    await session.commit()
    assert await names(client, a, q, deviceIdentifier=identifier) == ["d5"]
    assert await names(client, a, q, query=(identifier or "")[2:10]) == ["d5"]
    counted = await client.post(
        a.url("/search?pageSize=1"), json={"name": "lager"}, headers=a.headers
    )
    assert counted.json()["paging"]["totalCount"] == 4
    assert len(counted.json()["items"]) == 1


async def test_search_refuses_unknown_enum_values_and_wrong_types(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    for body in ({"statuses": ["LOST"]}, {"appCode": "PHONE"}, {"name": 5}, {"statuses": "ACTIVE"}):
        r = await client.post(a.url("/search"), json=body, headers=a.headers)
        assert r.status_code == 400, body
        assert set(r.json()) == {"code", "message", "logId"}


async def test_totals_follow_creates_moves_and_deletes(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a, uids = await fleet(session, runtime)
    other = await factories.store(session, a.tenant)
    await session.commit()

    async def total(query: str = "", **body: object) -> int:
        if body:
            r = await client.post(a.url("/search" + query), json=body, headers=a.headers)
        else:
            r = await client.get(a.url(query), headers=a.headers)
        return int(r.json()["paging"]["totalCount"])

    await client.put(a.url(f"/{uids[0]}"), json={"storeUid": other.uid}, headers=a.headers)
    await client.put(a.url(f"/{uids[5]}"), json={"status": "BLOCKED"}, headers=a.headers)
    await client.delete(a.url(f"/{uids[6]}"), headers=a.headers)
    assert await total() == 6
    assert await total(f"?deviceStoreUid={a.store.uid}") == 2
    assert await total(f"?deviceStoreUid={other.uid}") == 1
    assert await total(statuses=["BLOCKED"]) == 1
    assert await total(statuses=["ACTIVE"]) == 0
    assert await total(appCode="ASSISTANT") == 0


@pytest.mark.parametrize(("fragment", "expected"), [("lager", 6), ("&", 2)])
async def test_free_text_unites_own_store_and_till_matches_without_duplicates(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    fragment: str,
    expected: int,
) -> None:
    """A device found by its name, its store's name and its till's name at once is listed once;
    a fragment shorter than a trigram finds the same kinds of matches."""
    a, _ = await fleet(session, runtime)
    depot = await factories.store(session, a.tenant, name="Lager & West")
    back = await factories.till(session, a.store, number=2, name="Lager & back")
    service = DeviceService(session, runtime)
    await service.create(
        a.tenant.id, name="d7 & till", app_code=AppCode.CLIENT, actor="t",
        store_uid=a.store.uid, till_uid=back.uid,
    )  # fmt: skip
    await service.create(
        a.tenant.id, name="d8 in a store", app_code=AppCode.CLIENT, actor="t", store_uid=depot.uid
    )
    await session.commit()
    found = await names(client, a, "?sortBy=name&pageSize=4", query=fragment)
    everything = {
        "lager": ["d0", "d2", "d4", "d6", "d7", "d8"],  # own name, own name …, till, store
        "&": ["d7", "d8"],  # own name and till, store
    }[fragment]
    assert found == everything[:4]
    r = await client.post(
        a.url("/search?sortBy=name&pageSize=4&pageNumber=2"), json={"query": fragment},
        headers=a.headers,
    )  # fmt: skip
    assert [i["name"].split()[0] for i in r.json()["items"]] == everything[4:]
    assert r.json()["paging"]["totalCount"] == expected


async def test_a_listed_device_reads_as_its_details_with_printers_and_settings(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Each item of a page equals ``GET …/devices/{uid}``: store, till, printers, settings (a
    value where the device has one, the default otherwise)."""
    a, uids = await fleet(session, runtime)
    printer = await factories.printer(session, a.tenant, PrinterType.LABEL, name="Labels")
    session.add(
        DeviceSettingDefinition(
            tenant_id=a.tenant.id, key="mode", name="Mode", type=SettingType.ENUM,
            allowed_values=["fast", "slow"], default_value="slow",
        )
    )  # fmt: skip
    await session.commit()
    change = {"printerUids": [printer.uid], "settings": [{"key": "mode", "value": "fast"}]}
    r = await client.put(a.url(f"/{uids[0]}"), json=change, headers=a.headers)
    assert r.status_code == 200, r.text
    for request in (
        client.get(a.url("?sortBy=name"), headers=a.headers),
        client.post(a.url("/search?sortBy=name"), json={"query": "d"}, headers=a.headers),
    ):
        items = (await request).json()["items"]
        assert [i["deviceUid"] for i in items] == uids
        for item in items:
            details = await client.get(a.url(f"/{item['deviceUid']}"), headers=a.headers)
            assert item == details.json()
        assert items[0]["printers"] == [
            {"printerUid": printer.uid, "name": "Labels", "type": "LABEL"}
        ]
        assert [s["value"] for s in items[0]["settings"]] == ["fast"]
        assert [(i["printers"], [s["value"] for s in i["settings"]]) for i in items[1:]] == [
            ([], ["slow"])
        ] * 6


async def test_a_fragment_of_several_words_matches_only_where_it_appears_whole(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Devices sharing the fragment's longest word but not the whole fragment are not found."""
    a, _ = await fleet(session, runtime)
    service = DeviceService(session, runtime)
    other, _ = await service.create(
        a.tenant.id, name="d7 lager", app_code=AppCode.CLIENT, actor="t"
    )
    other.system_information = "amd64 kernel 6.1.0"
    await session.commit()
    q = "?sortBy=name"
    assert await names(client, a, q, query="6.1.0-AMD64") == ["d5"]
    assert await names(client, a, q, query="amd64") == ["d5", "d7"]
    assert await names(client, a, q, name="D5 Kasse") == ["d5"]
    assert await names(client, a, q, query="d5 kasse") == ["d5"]


def test_a_page_as_json_is_what_its_model_would_write() -> None:
    """Lists write their JSON straight from the page's rows (DeviceList.json_of); it must be the
    JSON the response model writes, for every kind of value a device shows."""
    moments = [
        datetime(2026, 12, 2, 13, 9, 24, 979687, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),  # no microseconds
        datetime(2025, 6, 30, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=2))).astimezone(UTC),
    ]
    printer = Printer(uid="printer-1", name="Kjøkken", type=PrinterType.RECEIPT)
    theme = SettingView(
        "ui.theme", "dark", SettingType.STRING, ["dark", "light"], "", "Theme", True
    )
    kinds = [(s, a) for s in DeviceStatus for a in AppCode]
    items = [
        ListedDetails(
            device=ListedDevice(
                n, f"dev-{n}", f"Kasse {n} «Sør»", None if n % 2 else f"ident-{n}",
                "Linux 6.1 \"quoted\" \\ back\nline", status, app, moments[n % 3], "admin",
                moments[(n + 1) % 3], "", None if n % 2 else moments[(n + 2) % 3], "user-1", "",
                None, None,
            ),
            store=None if n % 3 == 0 else ListedStore("store-1", "Karl Johan", "" if n else "o"),
            till=None if n % 2 else ListedTill("till-1", "Till 1", n),
            printers=[printer] if n % 2 else [],
            settings=[theme] if n % 3 == 1 else [],
        )
        for n, (status, app) in enumerate(kinds)
    ]  # fmt: skip
    for cursor in (None, "next-page"):
        page = Page(items, 3, 50, 1_000_001)
        expected = DeviceList.of(page, "tenant-1", cursor).model_dump_json()
        assert json.loads(DeviceList.json_of(page, "tenant-1", cursor)) == json.loads(expected)


async def test_free_text_by_creation_finds_store_and_till_names_beside_the_devices_own_text(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    """Pages by creation (the default sort) of a free-text search learn whether a store or till
    name matches from their page statement (SQLite: first pages; PostgreSQL: cursor pages too);
    the answer is the same as by name."""
    a, uids = await fleet(session, runtime)
    r = await client.put(a.url(f"/{uids[6]}"), json={"name": "d6 johansen"}, headers=a.headers)
    assert r.status_code == 200, r.text
    cases = {
        "johans": ["d0", "d1", "d2", "d6"],  # the store's name, and d6's own
        "counter": ["d0"],  # the till's name only
        "johansen": ["d6"],  # d6's own name only
        "kasse": ["d1", "d3", "d5"],
        "nowhere": [],
    }
    for fragment, expected in cases.items():
        for direction, order in (("ASC", expected), ("DESC", expected[::-1])):
            assert await names(client, a, f"?sortDirection={direction}", query=fragment) == order
            for number in (1, 2, 3):
                page = f"?sortDirection={direction}&pageSize=2&pageNumber={number}"
                r = await client.post(a.url("/search" + page), json={"query": fragment},
                                      headers=a.headers)  # fmt: skip
                assert r.status_code == 200, r.text
                got = [item["name"].split()[0] for item in r.json()["items"]]
                assert got == order[(number - 1) * 2 : number * 2], (fragment, direction, number)
                assert r.json()["paging"]["totalCount"] == len(expected)
            # The same pages along the cursor.
            url, followed = a.url(f"/search?sortDirection={direction}&pageSize=2"), []
            while True:
                r = await client.post(url, json={"query": fragment}, headers=a.headers)
                assert r.status_code == 200, r.text
                assert r.json()["paging"]["totalCount"] == len(expected)
                followed += [item["name"].split()[0] for item in r.json()["items"]]
                if "nextCursor" not in r.json()["paging"]:
                    break
                url = a.url(f"/search?cursor={r.json()['paging']['nextCursor']}")
            assert followed == order, (fragment, direction)
