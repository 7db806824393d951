"""``posfleet tenant import`` and ``export``: checked whole, all or nothing, idempotent, a dry run
that prints the diff, and an export that a fresh database takes back as the same tenant."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from posfleet.tenants import transfer
from tests.conftest import unique
from tests.support.cli import posfleet


def _ok(url: str, *args: str, input: str | None = None) -> str:
    result = posfleet(url, *args, input=input)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def _tenant_file(tenant: str) -> dict[str, Any]:
    return {
        "tenant": {"tenantUid": tenant, "name": "Nordlys Sport AS", "vatNumber": "NO1MVA"},
        "reasons": [{"kind": "RETURN", "code": "DAMAGED", "description": "Damaged"}],
        "denominations": [{"denomination": 2000, "material": "NOTE"}],
        "deviceSettings": [{"key": "scale", "type": "BOOL", "defaultValue": "false"}],
        "stores": [
            {
                "storeUid": f"{tenant}-oslo",
                "name": "Oslo",
                "city": "Oslo",
                "postalCode": "0154",
                "tills": [{"tillUid": f"{tenant}-oslo-1", "number": 1}],
                "printers": [{"printerUid": f"{tenant}-p", "name": "Receipts"}],
            }
        ],
        "users": [
            {
                "userCode": "ingrid",
                "accountType": "FULL",
                "allStores": True,
                "permissions": ["TENANT.ADMIN"],
                "password": "long-enough-passw0rd",
            },
            {"userCode": "kari", "storeUids": [f"{tenant}-oslo"]},
        ],
        "devices": [
            {
                "deviceUid": f"{tenant}-d1",
                "name": "Front till",
                "storeUid": f"{tenant}-oslo",
                "tillUid": f"{tenant}-oslo-1",
                "printerUids": [f"{tenant}-p"],
                "settings": {"scale": "true"},
                "vendor": "Sunmi",
            }
        ],
    }


def test_export_then_import_into_an_emptied_database_gives_the_same_tenant(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    source = tmp_path / "tenant.yaml"
    source.write_text(yaml.safe_dump(_tenant_file(tenant)))
    _ok(url, "tenant", "import", str(source))
    exported = _ok(url, "tenant", "export", tenant)
    as_json = _ok(url, "tenant", "export", tenant, "--format", "json")
    assert yaml.safe_load(exported) == json.loads(as_json)

    _ok(url, "tenant", "delete", tenant, "--yes")
    again = tmp_path / "again.json"
    again.write_text(as_json)
    _ok(url, "tenant", "import", str(again))

    assert _ok(url, "tenant", "export", tenant) == exported
    data = yaml.safe_load(exported)
    assert data["stores"][0]["paymentMethods"][1]["isZeroAmount"] is True  # the defaults
    assert data["devices"][0]["settings"] == {"scale": "true"}


def test_an_export_holds_no_secret(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    source = tmp_path / "tenant.yaml"
    source.write_text(yaml.safe_dump(_tenant_file(tenant)))
    _ok(url, "tenant", "import", str(source))
    code = re.search(r"link code (\S+)", _ok(url, "devices", "reset-code", tenant, f"{tenant}-d1"))
    assert code is not None
    exported = _ok(url, "tenant", "export", tenant)
    for secret in ("long-enough-passw0rd", "$argon2", code.group(1), "password", "hash"):
        assert secret not in exported


def test_a_second_import_changes_nothing_and_a_dry_run_prints_the_diff(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    data = _tenant_file(tenant)
    source = tmp_path / "tenant.yaml"
    source.write_text(yaml.safe_dump(data))
    first = _ok(url, "tenant", "import", str(source))
    assert "10 created, 0 changed, 0 unchanged" in first
    version = re.search(r"configVersion\s+(\d+)", _ok(url, "tenant", "show", tenant))
    assert version is not None
    assert _ok(url, "tenant", "import", str(source)).strip() == (
        f"Imported tenant {tenant}: 0 created, 0 changed, 10 unchanged."
    )
    after = re.search(r"configVersion\s+(\d+)", _ok(url, "tenant", "show", tenant))
    assert after is not None
    assert after.group(1) == version.group(1)

    data["stores"][0]["city"] = "Bergen"
    data["stores"][0]["tills"].append({"tillUid": f"{tenant}-oslo-2", "number": 2})
    data["devices"][0]["name"] = "Back till"
    source.write_text(yaml.safe_dump(data))
    dry = _ok(url, "tenant", "import", str(source), "--dry-run")
    assert dry.splitlines() == [
        f"~ store {tenant}-oslo: city",
        f"+ till {tenant}-oslo-2",
        f"~ device {tenant}-d1: name",
        "Dry run: 1 to create, 2 to change, 8 unchanged; nothing was changed.",
    ]
    assert re.search(r"city\s+Oslo\n", _ok(url, "store", "show", tenant, f"{tenant}-oslo"))


def test_an_import_with_five_errors_reports_all_five_with_locations_and_changes_nothing(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_tenant_file(tenant)))
    _ok(url, "tenant", "import", str(good))
    before = _ok(url, "tenant", "export", tenant)
    zero = yaml.safe_load(before)["stores"][0]["paymentMethods"][1]["paymentMethodUid"]

    data = _tenant_file(tenant)
    data["tenant"]["name"] = "Renamed"  # a valid change, not applied when anything is wrong
    data["reasons"].append({"kind": "RETURN", "code": "DAMAGED"})
    data["stores"][0]["tills"].append({"tillUid": "t-x", "number": 1})
    data["stores"][0]["paymentMethods"] = [
        {"paymentMethodUid": "z2", "code": "EXTERNAL", "name": "Z", "isZeroAmount": True}
    ]
    data["users"][1]["storeUids"] = ["nowhere"]
    data["devices"][0]["tillUid"] = "t-nowhere"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))

    result = posfleet(url, "tenant", "import", str(bad))

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: reasons[1]: reason RETURN DAMAGED appears twice",
        f"error: {bad}: stores[0].tills[1]: till number 1 appears twice",
        f"error: {bad}: stores[0].paymentMethods[0].isZeroAmount: store {tenant}-oslo already "
        "has the zero-amount method " + zero,
        f"error: {bad}: users[1].storeUids[0]: no store nowhere",
        f"error: {bad}: devices[0].tillUid: no till t-nowhere in store {tenant}-oslo",
    ]
    assert _ok(url, "tenant", "export", tenant) == before


def test_schema_problems_are_reported_together_with_their_locations(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    data = _tenant_file(tenant)
    data["stores"][0]["latitude"] = 123
    data["stores"][0]["tills"][0]["number"] = 0
    data["devices"][0]["colour"] = "blue"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = posfleet(url, "tenant", "import", str(bad))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: stores[0].latitude: Input should be less than or equal to 90",
        f"error: {bad}: stores[0].tills[0].number: Input should be greater than or equal to 1",
        f"error: {bad}: devices[0].colour: Extra inputs are not permitted",
    ]
    assert posfleet(url, "tenant", "show", tenant).exit_code == 1


def test_a_large_import_shows_its_progress(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    data: dict[str, Any] = {"tenant": {"tenantUid": tenant, "name": "Big"}, "stores": []}
    for s in range(60):
        store = f"{tenant}-s{s}"
        data["stores"].append(
            {"storeUid": store, "name": f"Store {s}",
             "tills": [{"tillUid": f"{store}-t{t}", "number": t} for t in range(1, 10)]}
        )  # fmt: skip
    source = tmp_path / "big.yaml"
    source.write_text(yaml.safe_dump(data))
    result = posfleet(url, "tenant", "import", str(source))
    assert result.exit_code == 0, result.output
    progress = result.stderr.strip().splitlines()
    assert progress[0] == "Importing 601 changes ..."
    assert progress[1:] == ["  applied 250/601", "  applied 500/601", "  applied 601/601"]


def test_an_export_of_more_devices_than_a_batch_holds_each_device_once_in_order(
    backend: str, database_urls: dict[str, str], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "_DEVICE_BATCH", 3)
    url, tenant = database_urls[backend], unique("tenant")
    # Names repeat and uids sort otherwise than the devices were made: batches follow the uid.
    uids = [f"{tenant}-d{n:02d}" for n in range(11)]
    data: dict[str, Any] = {
        "tenant": {"tenantUid": tenant, "name": "Many"},
        "devices": [
            {"deviceUid": uid, "name": f"Till {n % 3}"} for n, uid in enumerate(uids[::-1])
        ],
    }
    source = tmp_path / "many.yaml"
    source.write_text(yaml.safe_dump(data))
    _ok(url, "tenant", "import", str(source))
    exported = json.loads(_ok(url, "tenant", "export", tenant, "--format", "json"))
    assert [d["deviceUid"] for d in exported["devices"]] == uids


def test_the_device_flow_clients_a_tenant_allows_travel_in_its_file_and_are_set_by_the_cli(
    backend: str, database_urls: dict[str, str], tmp_path: Any
) -> None:
    url, tenant = database_urls[backend], unique("tenant")
    tills, phones = unique("tills"), unique("phones")
    _ok(url, "client", "create", tills, "--name", "Tills")
    _ok(url, "client", "create", phones, "--name", "Phones")
    data = _tenant_file(tenant)
    data["deviceFlowClients"] = {"onlyListed": True, "allowedClientIds": [tills]}
    source = tmp_path / "tenant.yaml"
    source.write_text(yaml.safe_dump(data))
    _ok(url, "tenant", "import", str(source))

    exported = yaml.safe_load(_ok(url, "tenant", "export", tenant))
    assert exported["deviceFlowClients"] == {"onlyListed": True, "allowedClientIds": [tills]}
    shown = _ok(url, "tenant", "device-flow-clients", tenant)
    assert shown.startswith("Only the clients marked allowed\n")
    assert re.search(rf"^{tills}\s+CLIENT\s+Tills\s+yes\s+yes$", shown, re.M)
    assert re.search(rf"^{phones}\s+CLIENT\s+Phones\s+yes\s+no$", shown, re.M)
    assert "0 created, 0 changed, 11 unchanged" in _ok(url, "tenant", "import", str(source))

    # The CLI changes the choice; importing the file again puts the file's choice back.
    chosen = _ok(url, "tenant", "device-flow-clients", tenant, "--only", phones)
    assert re.search(rf"^{phones}\s+CLIENT\s+Phones\s+yes\s+yes$", chosen, re.M)
    assert re.search(rf"^{tills}\s+CLIENT\s+Tills\s+yes\s+no$", chosen, re.M)
    assert _ok(url, "tenant", "import", str(source), "--dry-run").splitlines()[0] == (
        f"~ device-flow clients {tenant}: allowedClientIds"
    )
    _ok(url, "tenant", "import", str(source))
    assert yaml.safe_load(_ok(url, "tenant", "export", tenant))["deviceFlowClients"] == {
        "onlyListed": True,
        "allowedClientIds": [tills],
    }

    everyone = _ok(url, "tenant", "device-flow-clients", tenant, "--all")
    assert everyone.startswith("Every active client is allowed\n")
    assert "deviceFlowClients" not in yaml.safe_load(_ok(url, "tenant", "export", tenant))
    timeline = _ok(url, "events", "--tenant", tenant)
    assert "device-flow clients changed" in timeline

    data["deviceFlowClients"] = {"onlyListed": True, "allowedClientIds": [tills, "nobody"]}
    source.write_text(yaml.safe_dump(data))
    result = posfleet(url, "tenant", "import", str(source))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {source}: deviceFlowClients.allowedClientIds[1]: no device-flow client nobody"
    ]
    both = posfleet(url, "tenant", "device-flow-clients", tenant, "--all", "--only", tills)
    assert both.exit_code != 0
