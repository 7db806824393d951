"""The floor for ``GET /v2/device``: plain Starlette answering the same body with orjson.

Reads the body posfleet served from ``BENCH_BODY_FILE`` once, then serialises it on every request
as a handler that does no work of its own would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY: Any = orjson.loads(Path(os.environ["BENCH_BODY_FILE"]).read_bytes())


async def device(request: Request) -> Response:
    return Response(orjson.dumps(BODY), media_type="application/json")


app = Starlette(routes=[Route("/v2/device", device)])
