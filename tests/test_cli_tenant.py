"""A tenant set up only with the ``posfleet`` command serves a linked device; every failure of
the command is one ``error:`` line and exit status 1."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from tests.conftest import unique
from tests.flow.device.support import schema_errors
from tests.support.cli import posfleet

PASSWORD = "long-enough-passw0rd"


def _ok(url: str, *args: str, input: str | None = None) -> str:
    result = posfleet(url, *args, input=input)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


async def _aok(url: str, *args: str, input: str | None = None) -> str:
    """:func:`_ok` from a test's event loop (the command runs its own)."""
    return await asyncio.to_thread(_ok, url, *args, input=input)


async def test_a_tenant_built_only_with_the_cli_serves_a_linked_device(
    backend: str, database_urls: dict[str, str], client: httpx.AsyncClient
) -> None:
    url = database_urls[backend]
    tenant, store, app_id = unique("tenant"), unique("store"), unique("app")
    await _aok(url, "tenant", "create", "Nordlys Sport AS", "--uid", tenant)
    await _aok(url, "store", "create", tenant, "Oslo", "--uid", store, "--city", "Oslo")
    await _aok(url, "till", "create", tenant, store, "1", "--uid", f"{store}-1")
    await _aok(
        url, "printer", "create", tenant, "Receipts", "--store", store, "--uid", f"{store}-p"
    )
    await _aok(url, "reason", "create", tenant, "RETURN", "DAMAGED", "--description", "Damaged")
    await _aok(url, "denomination", "add", tenant, "2000", "NOTE")
    await _aok(url, "setting", "define", tenant, "scale", "--type", "BOOL", "--default", "false")
    await _aok(url, "user", "create", tenant, "ingrid", "--password-stdin",
               "--account-type", "FULL", "--admin", "--all-stores",
               input=PASSWORD + "\n")  # fmt: skip
    await _aok(url, "app", "register", app_id)
    created = await _aok(url, "devices", "create", tenant, "Front till", "--store", store,
                  "--till", f"{store}-1", "--printer", f"{store}-p")  # fmt: skip
    code = re.search(r"link code (\S+)", created)
    assert code is not None, created

    linked = await client.post(
        f"/v2/device/{code.group(1)}/link",
        json={"appId": app_id, "userCode": "ingrid", "password": PASSWORD},
    )
    assert linked.status_code == 200, linked.text
    info = await client.get(
        "/v2/device", headers={"Authorization": f"Bearer {linked.json()['token']}"}
    )
    assert info.status_code == 200, info.text
    body = info.json()
    assert schema_errors("DeviceInfoResponseSchema", body) == []
    assert body["storeInfo"]["name"] == "Oslo"
    assert body["zeroAmountPaymentMethod"]["paymentCode"] == "CASH"
    assert body["availableReasons"]["return"] == [{"code": "DAMAGED", "description": "Damaged"}]
    assert [p["printerUid"] for p in body["printers"]] == [f"{store}-p"]

    await _aok(url, "store", "update", tenant, store, "--name", "Oslo sentrum")
    # A change made by another process shows within 100 ms (docs/security.md: the server
    # learns of it by polling the file or by a notification).
    deadline = time.monotonic() + 0.1
    while True:
        again = await client.get(
            "/v2/device", headers={"Authorization": f"Bearer {linked.json()['token']}"}
        )
        name = again.json()["storeInfo"]["name"]
        if name == "Oslo sentrum" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.005)
    assert name == "Oslo sentrum"


def test_device_commands_block_unblock_reset_show_and_delete(
    backend: str, database_urls: dict[str, str]
) -> None:
    url = database_urls[backend]
    tenant = unique("tenant")
    _ok(url, "tenant", "create", "T", "--uid", tenant)
    _ok(url, "devices", "create", tenant, "Handheld", "--uid", "hh-1")
    shown = _ok(url, "devices", "show", tenant, "hh-1")
    assert re.search(r"status\s+READY_TO_LINK", shown)
    refused = posfleet(url, "devices", "block", tenant, "hh-1")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "error: Only an active device can be blocked"
    assert "link code" in _ok(url, "devices", "reset-code", tenant, "hh-1")
    _ok(url, "devices", "hardware", tenant, "hh-1", "--vendor", "Zebra", "--mac-address",
        "00:1a:2b:3c:4d:5e")  # fmt: skip
    assert re.search(r"macAddress\s+00:1A:2B:3C:4D:5E", _ok(url, "devices", "show", tenant, "hh-1"))
    assert posfleet(url, "devices", "delete", tenant, "hh-1").exit_code == 1  # needs --yes
    _ok(url, "devices", "delete", tenant, "hh-1", "--yes")
    gone = posfleet(url, "devices", "show", tenant, "hh-1")
    assert gone.stderr.strip() == "error: Device hh-1 does not exist"


def test_each_kind_is_listed_shown_updated_disabled_or_deleted(
    backend: str, database_urls: dict[str, str]
) -> None:
    url = database_urls[backend]
    tenant = unique("tenant")
    _ok(url, "tenant", "create", "T", "--uid", tenant)
    _ok(url, "store", "create", tenant, "Oslo", "--uid", "oslo")
    _ok(
        url, "store", "update", tenant, "oslo", "--set", "postalCode=0154", "--set", "latitude=59.9"
    )
    assert re.search(r"postalCode\s+0154", _ok(url, "store", "show", tenant, "oslo"))
    _ok(url, "store", "disable", tenant, "oslo")
    assert re.search(r"oslo\s+Oslo\s+no", _ok(url, "store", "list", tenant))
    methods = _ok(url, "payment-method", "list", tenant, "oslo")
    assert re.search(r"Zero amount\s+HIDDEN\s+yes", methods)
    _ok(url, "payment-method", "create", tenant, "oslo", "VIPPS", "Vipps", "--uid", "vipps")
    _ok(url, "payment-method", "update", tenant, "vipps", "--set", "visibility=FEATURED")
    assert "FEATURED" in _ok(url, "payment-method", "show", tenant, "vipps")
    _ok(url, "payment-method", "delete", tenant, "vipps", "--yes")
    _ok(url, "till", "create", tenant, "oslo", "3", "--uid", "t3")
    _ok(url, "till", "update", tenant, "t3", "--number", "4")
    assert re.search(r"t3\s+oslo\s+4\s+Till 3", _ok(url, "till", "list", tenant))
    _ok(url, "till", "delete", tenant, "t3", "--yes")
    _ok(url, "user", "create", tenant, "kari", "--password-stdin", input="2468\n")
    _ok(url, "user", "update", tenant, "kari", "--first-name", "Kari")
    _ok(url, "user", "disable", tenant, "kari")
    assert re.search(r"kari\s+\S+\s+REGULAR\s+INACTIVE\s+Kari", _ok(url, "user", "list", tenant))
    bad = posfleet(url, "user", "set-password", tenant, "kari", "--password-stdin", input="12\n")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == (
        "error: Invalid password: must be a PIN of exactly 4 digits for a REGULAR user"
    )
    assert posfleet(url, "store", "delete", tenant, "oslo").exit_code == 1
    _ok(url, "store", "delete", tenant, "oslo", "--yes")
    assert "oslo" not in _ok(url, "store", "list", tenant)


def test_user_create_without_a_terminal_or_stdin_says_how_to_give_the_password(
    backend: str, database_urls: dict[str, str]
) -> None:
    url = database_urls[backend]
    tenant = unique("tenant")
    _ok(url, "tenant", "create", "T", "--uid", tenant)
    result = posfleet(url, "user", "create", tenant, "ingrid", "--account-type", "FULL")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: no terminal to ask for the password on: pipe it in with --password-stdin"
    ]
    weak = posfleet(url, "user", "create", tenant, "ingrid", "--account-type", "FULL",
                    "--password-stdin", input="x\n")  # fmt: skip
    assert weak.exit_code == 1
    assert weak.stderr.strip().startswith("error: Invalid user: password must be 12 to 200")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "POSFLEET_DATABASE_URL": "postgresql://u:p@127.0.0.1:1/nowhere",
                "POSFLEET_ENVIRONMENT": "development",
            },
            "error: database: [Errno 111] Connect call failed ('127.0.0.1', 1)",
        ),
        (
            {"POSFLEET_ENVIRONMENT": "production", "POSFLEET_SECRET_KEY": ""},
            "error: POSFLEET_SECRET_KEY must be set when POSFLEET_ENVIRONMENT=production",
        ),
        (
            {"POSFLEET_DATABASE_URL": "mysql://u:p@localhost/x"},
            "error: invalid settings: POSFLEET_DATABASE_URL: Value error, unsupported database "
            "driver 'mysql': use postgresql://… or sqlite:///…",
        ),
    ],
    ids=["unreachable-database", "production-without-secret", "unsupported-driver"],
)
@pytest.mark.parametrize("command", [("tenant", "list"), ("db", "status"), ("serve",)])
def test_a_setup_failure_is_one_error_line_and_exit_status_1(
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    expected: str,
    command: tuple[str, ...],
) -> None:
    from posfleet.cli import main

    monkeypatch.chdir(str(tmp_path))
    monkeypatch.delenv("POSFLEET_SECRET_KEY", raising=False)
    for name, value in env.items():
        if value:
            monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.argv", ["posfleet", *command])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [expected]
