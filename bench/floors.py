"""The floors posfleet's ``GET /v2/device`` is measured against: tiny Starlette apps, no framework
work beyond routing, each answering the same DeviceInfo body with ``orjson.dumps`` per request.

``FLOOR_KIND`` picks the floor (the bench starts one uvicorn process per floor):

- ``a``: no I/O;
- ``b-aiosqlite``, ``b-sqlite3``, ``b-asyncpg``: (a) plus one primary-key SELECT of the device row
  through the raw driver, against the database posfleet serves from (``FLOOR_DATABASE``: a SQLite
  file path or a ``postgresql://`` DSN; ``FLOOR_DEVICE_ID``);
- ``c-aiosqlite``, ``c-sqlite3``, ``c-asyncpg``: (b) plus a PyJWT EdDSA verification of the
  request's bearer token (``FLOOR_PUBLIC_KEY``: PEM; ``FLOOR_AUDIENCE``).

A refused token is a 401, so a floor that skipped the check would show up as non-2xx answers.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

KIND = os.environ.get("FLOOR_KIND", "a")
BODY: Any = orjson.loads(Path(os.environ["BENCH_BODY_FILE"]).read_bytes())
DEVICE_ID = int(os.environ.get("FLOOR_DEVICE_ID", "0"))
SQL = "SELECT * FROM devices WHERE id = {}"

Select = Callable[[], Awaitable[object]]
_select: Select | None = None


def _answer() -> Response:
    return Response(orjson.dumps(BODY), media_type="application/json")


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    global _select
    driver = KIND.partition("-")[2]
    database = os.environ.get("FLOOR_DATABASE", "")
    if driver == "aiosqlite":
        import aiosqlite

        conn = await aiosqlite.connect(database)
        sql = SQL.format("?")

        async def select_aiosqlite() -> object:
            async with conn.execute(sql, (DEVICE_ID,)) as cursor:
                return await cursor.fetchone()

        _select = select_aiosqlite
        try:
            yield
        finally:
            await conn.close()
    elif driver == "sqlite3":
        sync = sqlite3.connect(database, check_same_thread=False)
        sql = SQL.format("?")

        async def select_sqlite3() -> object:
            return sync.execute(sql, (DEVICE_ID,)).fetchone()

        _select = select_sqlite3
        try:
            yield
        finally:
            sync.close()
    elif driver == "asyncpg":
        import asyncpg

        pool = await asyncpg.create_pool(database, min_size=10, max_size=10)
        sql = SQL.format("$1")

        async def select_asyncpg() -> object:
            return await pool.fetchrow(sql, DEVICE_ID)

        _select = select_asyncpg
        try:
            yield
        finally:
            await pool.close()
    else:
        yield


async def floor_a(request: Request) -> Response:
    return _answer()


async def floor_b(request: Request) -> Response:
    assert _select is not None
    if await _select() is None:
        return Response(status_code=404)
    return _answer()


_KEY = None
if KIND.startswith("c-"):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    _KEY = load_pem_public_key(os.environ["FLOOR_PUBLIC_KEY"].encode())
_AUDIENCE = os.environ.get("FLOOR_AUDIENCE") or None


async def floor_c(request: Request) -> Response:
    _scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        jwt.decode(
            token,
            _KEY,  # type: ignore[arg-type]
            algorithms=["EdDSA"],
            audience=_AUDIENCE,
            options={"require": ["exp"], "verify_aud": _AUDIENCE is not None},
        )
    except jwt.PyJWTError:
        return Response(status_code=401)
    return await floor_b(request)


_HANDLERS = {"a": floor_a, "b": floor_b, "c": floor_c}
app = Starlette(routes=[Route("/v2/device", _HANDLERS[KIND[0]])], lifespan=_lifespan)
