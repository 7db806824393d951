"""Cursor paging of the device lists: ``paging.nextCursor`` and the ``cursor`` parameter."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.devices.service import DeviceService
from posfleet.models.enums import AppCode
from posfleet.runtime import Runtime
from tests.flow.admin.support import Admin, admin


async def fleet(session: AsyncSession, runtime: Runtime, a: Admin, count: int = 11) -> list[str]:
    """``count`` devices whose names repeat (three of each), so sorts by name and status have
    ties that only the id orders."""
    service = DeviceService(session, runtime)
    uids = []
    for i in range(count):
        device, _ = await service.create(
            a.tenant.id, name=f"till {i // 3} kasse", app_code=AppCode.CLIENT, actor="t"
        )
        if i % 4 == 0:
            await service.activate(device, "t", how="test")
        uids.append(device.uid)
    await session.commit()
    return uids


async def walk(
    client: httpx.AsyncClient, a: Admin, params: str, body: dict[str, Any] | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page of a list, the first by its parameters and the rest by ``nextCursor``."""

    async def get(query: str) -> dict[str, Any]:
        if body is None:
            r = await client.get(a.url(query), headers=a.headers)
        else:
            r = await client.post(a.url("/search" + query), json=body, headers=a.headers)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    answer = await get(params)
    uids, pagings = [], []
    while True:
        uids += [item["deviceUid"] for item in answer["items"]]
        pagings.append(answer["paging"])
        following = answer["paging"].get("nextCursor")
        if following is None:
            return uids, pagings
        answer = await get(f"?cursor={following}")


@pytest.mark.parametrize("sort_by", ["createdAt", "lastModifiedAt", "name", "status", "deviceUid"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_following_cursors_reads_every_device_once_in_the_order_of_page_numbers(
    client: httpx.AsyncClient,
    session: AsyncSession,
    runtime: Runtime,
    sort_by: str,
    direction: str,
) -> None:
    a = await admin(session, runtime)
    uids = await fleet(session, runtime, a)
    params = f"?pageSize=3&sortBy={sort_by}&sortDirection={direction}"
    by_cursor, pagings = await walk(client, a, params)
    by_number = []
    for number in (1, 2, 3, 4):
        r = await client.get(a.url(f"{params}&pageNumber={number}"), headers=a.headers)
        by_number += [item["deviceUid"] for item in r.json()["items"]]
    assert by_cursor == by_number
    assert sorted(by_cursor) == sorted(uids)
    assert [p["pageNumber"] for p in pagings] == [1, 2, 3, 4]
    assert {(p["pageSize"], p["totalCount"]) for p in pagings} == {(3, 11)}
    assert "nextCursor" not in pagings[-1]


async def test_a_search_pages_by_cursor_with_its_exact_total(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    await fleet(session, runtime, a)
    body = {"name": "kasse", "statuses": ["READY_TO_LINK"]}
    by_cursor, pagings = await walk(client, a, "?pageSize=2&sortBy=name", body)
    assert len(by_cursor) == len(set(by_cursor)) == 8
    assert {p["totalCount"] for p in pagings} == {8}
    everything = await client.post(
        a.url("/search?pageSize=8&sortBy=name"), json=body, headers=a.headers
    )
    assert by_cursor == [item["deviceUid"] for item in everything.json()["items"]]


async def test_a_device_created_behind_the_cursor_does_not_shift_the_next_page(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    uids = await fleet(session, runtime, a, count=6)
    first = (await client.get(a.url("?pageSize=3&sortBy=deviceUid"), headers=a.headers)).json()
    service = DeviceService(session, runtime)
    await service.create(a.tenant.id, name="early", app_code=AppCode.CLIENT, actor="t",
                         device_uid="0-first")  # fmt: skip
    await session.commit()
    r = await client.get(a.url(f"?cursor={first['paging']['nextCursor']}"), headers=a.headers)
    assert [item["deviceUid"] for item in r.json()["items"]] == sorted(uids)[3:]
    assert r.json()["paging"]["totalCount"] == 7


async def test_a_cursor_of_another_tenant_is_400_and_selects_none_of_its_rows(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    b = await admin(session, runtime)
    await fleet(session, runtime, a)
    b_uids = await fleet(session, runtime, b)
    b_first = (await client.get(b.url("?pageSize=3"), headers=b.headers)).json()
    b_cursor = b_first["paging"]["nextCursor"]
    for r in (
        await client.get(a.url(f"?cursor={b_cursor}"), headers=a.headers),
        await client.post(a.url(f"/search?cursor={b_cursor}"), json={}, headers=a.headers),
    ):
        assert r.status_code == 400, r.text
        assert set(r.json()) == {"code", "message", "logId"}
        assert not any(uid in r.text for uid in b_uids)
    # B's cursor still works for B.
    own = await client.get(b.url(f"?cursor={b_cursor}"), headers=b.headers)
    assert [i["deviceUid"] for i in own.json()["items"]] == b_uids[3:6]


async def test_a_cursor_of_another_list_of_the_same_tenant_is_400(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    await fleet(session, runtime, a)
    listed = (await client.get(a.url("?pageSize=3"), headers=a.headers)).json()
    searched = await client.post(
        a.url("/search?pageSize=3"), json={"name": "kasse"}, headers=a.headers
    )
    for r in (
        await client.post(
            a.url(f"/search?cursor={listed['paging']['nextCursor']}"), json={}, headers=a.headers
        ),
        await client.post(
            a.url(f"/search?cursor={searched.json()['paging']['nextCursor']}"),
            json={"name": "till"},
            headers=a.headers,
        ),
        await client.get(
            a.url(f"?deviceStoreUid={a.store.uid}&cursor={listed['paging']['nextCursor']}"),
            headers=a.headers,
        ),
    ):
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "validation_failed"


def _flip(cursor: str, at: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[at] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


async def test_a_tampered_or_made_up_cursor_is_a_clear_400_in_flows_error_shape(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime
) -> None:
    a = await admin(session, runtime)
    await fleet(session, runtime, a)
    good = (await client.get(a.url("?pageSize=3"), headers=a.headers)).json()["paging"][
        "nextCursor"
    ]
    bad = [
        _flip(good, 0),
        _flip(good, 20),
        _flip(good, -1),
        good[:-4],
        "",
        "x",
        "%FF%FE",
        "a" * 2000,
    ]
    for cursor in bad:
        r = await client.get(a.url(f"?cursor={cursor}"), headers=a.headers)
        assert r.status_code == 400, (cursor, r.text)
        assert set(r.json()) == {"code", "message", "logId"}
        assert "cursor" in r.json()["message"]


@pytest.mark.parametrize(
    "extra", ["&pageNumber=2", "&pageSize=4", "&sortBy=name", "&sortDirection=DESC"]
)
async def test_paging_parameters_that_contradict_the_cursor_are_400(
    client: httpx.AsyncClient, session: AsyncSession, runtime: Runtime, extra: str
) -> None:
    a = await admin(session, runtime)
    await fleet(session, runtime, a)
    good = (await client.get(a.url("?pageSize=3"), headers=a.headers)).json()["paging"][
        "nextCursor"
    ]
    r = await client.get(a.url(f"?cursor={good}{extra}"), headers=a.headers)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"code", "message", "logId"}
    same = await client.get(
        a.url(f"?cursor={good}&pageSize=3&sortBy=createdAt&sortDirection=ASC"), headers=a.headers
    )
    assert same.status_code == 200
    assert same.json()["paging"]["pageNumber"] == 2
