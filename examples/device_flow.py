#!/usr/bin/env python3
"""A POS device joining posfleet with the Flow device authorization flow, as a till would.

    python3 examples/device_flow.py --base http://127.0.0.1:8000 --state till.json

1. Registers with the app's ``clientId`` (``POST /v2/device``) and shows the code and the
   address a person opens to approve it.
2. Polls ``POST /v2/device/token`` at the interval it was given: waits on
   ``authorization_pending``, waits 5 s longer from then on at every ``slow_down``, gives up
   on ``access_denied`` and ``expired_token``.
3. With its device token reads ``GET /v2/device`` and says where it was placed.

With ``--state FILE`` the ``deviceIdentifier`` is kept in FILE: on the next run the device
skips registering and only asks for a fresh token, the way a till starts up every morning.
Only the Python standard library is used, so the script runs wherever Python 3.11 does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

SLOW_DOWN_STEP = 5


def call(base: str, method: str, path: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    """One JSON request; answers the status and the decoded body (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    # main() only lets http(s) addresses through.
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def say(text: str) -> None:
    print(text, flush=True)


def register(base: str, client_id: str, name: str) -> dict[str, Any]:
    status, body = call(
        base,
        "POST",
        "/v2/device",
        {"clientId": client_id, "name": name, "systemInformation": f"{sys.platform} example"},
    )
    if status != 200:
        raise SystemExit(f"registration refused ({status}): {body}")
    say(f"Device code: {body['deviceCode']}")
    say(f"Open {body['verificationUri']}?code={body['deviceCode']} and approve this device.")
    say(f"The code works for {body['expires_in'] // 60} minutes.")
    return dict(body)


def wait_for_token(base: str, client_id: str, identifier: str, interval: int) -> str:
    """Poll until a token comes; each sleep happens before the poll it spaces out."""
    while True:
        status, body = call(
            base,
            "POST",
            "/v2/device/token",
            {"clientId": client_id, "deviceIdentifier": identifier},
        )
        if status == 200:
            return str(body["token"])
        error = (body or {}).get("error")
        if error == "authorization_pending":
            say("Waiting for approval…")
        elif error == "slow_down":
            interval += SLOW_DOWN_STEP
            say(f"Asked to slow down: polling every {interval} s from now on.")
        else:
            raise SystemExit(f"not authorized ({error}): {(body or {}).get('message')}")
        time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="posfleet's address")
    parser.add_argument("--client-id", default="flow-retail-pos-legacy", help="the app's clientId")
    parser.add_argument("--name", default="Example till", help="the name the device proposes")
    parser.add_argument("--state", type=Path, help="file that keeps the deviceIdentifier")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise SystemExit("--base must be an http:// or https:// address")

    saved = json.loads(args.state.read_text()) if args.state and args.state.exists() else None
    if saved is None:
        registered = register(base, args.client_id, args.name)
        identifier, interval = registered["deviceIdentifier"], int(registered["interval"])
        if args.state:
            args.state.write_text(
                json.dumps({"deviceIdentifier": identifier, "interval": interval})
            )
            args.state.chmod(0o600)  # the identifier is the device's credential
        time.sleep(interval)
    else:
        identifier, interval = saved["deviceIdentifier"], int(saved["interval"])
        say("Known device: asking for a fresh token.")

    token = wait_for_token(base, args.client_id, identifier, interval)
    status, info = call(base, "GET", "/v2/device", token=token)
    if status != 200:
        raise SystemExit(f"GET /v2/device answered {status}: {info}")
    till = info["tillInfo"]
    where = f"till {till['tillNumber']}" if till["tillUid"] != "none" else "no till"
    say(
        f"Authorized: {info['name']} ({info['deviceUid']}) at {info['storeInfo']['name']}, "
        f"{where}, tenant {info['tenantInfo']['name']}."
    )


if __name__ == "__main__":
    main()
