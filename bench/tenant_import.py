"""Time ``posfleet tenant import`` of a large tenant: STORES stores x TILLS tills x 2 devices.

Each store gets ``TILLS`` tills, one device bound to each till and one handheld (a till holds at
most one device), a receipt printer and the default payment methods.  The file is written, then
imported into an empty database on SQLite and on a throwaway PostgreSQL (Debian's ``postgresql``
package), each by the ``posfleet`` command itself, and the wall time of each import (and of a
second, unchanged import) is printed.

    .venv/bin/python bench/tenant_import.py --stores 300 --tills 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import running_postgres  # noqa: E402 -- after the path is set


def tenant_file(stores: int, tills: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tenant": {"tenantUid": "bench", "name": "Bench Retail AS"},
        "deviceSettings": [{"key": "scale", "type": "BOOL", "defaultValue": "false"}],
        "stores": [],
        "devices": [],
    }
    for s in range(1, stores + 1):
        store = f"s{s:03d}"
        data["stores"].append(
            {
                "storeUid": store,
                "name": f"Store {s}",
                "city": "Oslo",
                "tills": [{"tillUid": f"{store}-t{t}", "number": t} for t in range(1, tills + 1)],
                "printers": [{"printerUid": f"{store}-receipt", "name": "Receipt printer"}],
            }
        )
        for t in range(1, tills + 1):
            data["devices"].append(
                {"deviceUid": f"{store}-till-{t}", "name": f"Till {t}", "storeUid": store,
                 "tillUid": f"{store}-t{t}", "printerUids": [f"{store}-receipt"]}
            )  # fmt: skip
            data["devices"].append(
                {"deviceUid": f"{store}-handheld-{t}", "name": f"Handheld {t}",
                 "storeUid": store, "appCode": "ASSISTANT"}
            )  # fmt: skip
    return data


def posfleet(url: str, workdir: Path, *args: str) -> float:
    env = {
        **os.environ,
        "POSFLEET_DATABASE_URL": url,
        "POSFLEET_SECRET_KEY": "bench-secret-" + "x" * 32,
        "POSFLEET_LOG_LEVEL": "warning",
    }
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/posfleet"), *args], env=env, cwd=workdir, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def measure(name: str, url: str, workdir: Path, path: Path) -> None:
    posfleet(url, workdir, "db", "upgrade")
    first = posfleet(url, workdir, "tenant", "import", str(path))
    second = posfleet(url, workdir, "tenant", "import", str(path))
    print(f"{name}: first import {first:.1f} s, second (unchanged) import {second:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--tills", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        path = workdir / "tenant.yaml"
        data = tenant_file(args.stores, args.tills)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        print(
            f"{args.stores} stores, {args.stores * args.tills} tills, "
            f"{len(data['devices'])} devices; file {path.stat().st_size // 1024} KiB"
        )
        measure("SQLite", f"sqlite:///{workdir / 'bench.db'}", workdir, path)
        with running_postgres() as server:
            measure("PostgreSQL", server.create_database("bench_import"), workdir, path)


if __name__ == "__main__":
    main()
