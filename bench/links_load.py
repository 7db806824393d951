"""Background writes for the links-under-load phase, in a process of its own (never the server's).

    python bench/links_load.py PLAN.json

The plan (written by ``bench/side_by_side.py``) names the server, the links to offer (device link
code and body), the admin device updates (URL, body, headers), their rates and the phase's
length.  The process prints ``READY`` once it has started (imports, client), and offers nothing
until it reads a line on its standard input: the bench starts it before the phase, so that its
own start-up does not compete for the cores with the phase it measures.  Both are offered
open-loop: request *i* starts at ``i / rate`` seconds whatever the
earlier ones are doing, so a slow server faces the same offered load as a fast one.  Requests
still running 10 s after the phase are cancelled and counted.  Prints one JSON line: answers by
status, per kind.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx


async def _offer(
    client: httpx.AsyncClient,
    method: str,
    requests: list[dict[str, Any]],
    rate: float,
    seconds: float,
    statuses: Counter[str],
) -> list[asyncio.Task[None]]:
    async def one(item: dict[str, Any]) -> None:
        try:
            response = await client.request(
                method, item["url"], json=item["body"], headers=item.get("headers")
            )
            statuses[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1

    tasks: list[asyncio.Task[None]] = []
    if rate <= 0:
        return tasks
    began = time.perf_counter()
    for i in range(min(len(requests), int(seconds * rate))):
        await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(requests[i])))
    return tasks


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    links: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=plan["base"], timeout=60, limits=limits) as client:
        print("READY", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        link_tasks, write_tasks = await asyncio.gather(
            _offer(client, "POST", plan["links"], plan["links_per_second"], plan["seconds"], links),
            _offer(
                client, "PUT", plan["writes"], plan["writes_per_second"], plan["seconds"], writes
            ),
        )
        tasks = link_tasks + write_tasks
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        else:
            pending = set()
    unfinished_links = sum(1 for t in link_tasks if t in pending)
    return {
        "links_offered": len(link_tasks),
        "links": dict(sorted(links.items())),
        "links_unfinished": unfinished_links,
        "writes_offered": len(write_tasks),
        "writes": dict(sorted(writes.items())),
        "writes_unfinished": len(pending) - unfinished_links,
    }


def main() -> None:
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    print("RESULT " + json.dumps(asyncio.run(run(plan))), flush=True)


if __name__ == "__main__":
    main()
