"""Server secrets, newest first: key ids, and hashes and seals under each listed secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from posfleet.config import Environment, Settings
from posfleet.kit.hashing import SecretHasher
from posfleet.kit.keyring import KEY_ID_LENGTH, ServerSecrets, key_id
from posfleet.kit.sealing import RetiredSecret, Sealer

OLD, NEW = b"old-secret-" + b"o" * 32, b"new-secret-" + b"n" * 32


def test_a_key_id_is_short_stable_and_says_nothing_of_the_secret() -> None:
    kid = key_id(NEW)
    assert kid == key_id(NEW) != key_id(OLD)
    assert len(kid) == KEY_ID_LENGTH
    assert kid not in NEW.hex()
    assert kid.encode() not in NEW


def test_settings_list_the_current_secret_first_then_the_previous_ones(tmp_path: Path) -> None:
    settings = Settings(
        secret_key=NEW.decode(),
        previous_secret_keys=f" {OLD.decode()} , other-secret ,,",
        secret_key_file=tmp_path / "s",
    )
    secrets = settings.server_secrets()
    assert secrets.secrets == (NEW, OLD, b"other-secret")
    assert secrets.current_id == key_id(NEW)
    assert Settings(secret_key=NEW.decode()).server_secrets().secrets == (NEW,)


def test_the_development_key_file_is_the_current_secret(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=None,
        environment=Environment.DEVELOPMENT,
        secret_key_file=tmp_path / "s",
        previous_secret_keys=OLD.decode(),
    )
    secrets = settings.server_secrets()
    assert secrets.secrets == ((tmp_path / "s").read_text().strip().encode(), OLD)


def test_hashes_are_made_under_the_newest_and_found_under_every_listed_secret() -> None:
    before = SecretHasher(ServerSecrets.of([OLD]))
    during = SecretHasher(ServerSecrets.of([NEW, OLD]))
    after = SecretHasher(ServerSecrets.of([NEW]))
    stored = before.hash("ABCD-1234")
    assert during.hashes("ABCD-1234") == [during.hash("ABCD-1234"), stored]
    assert during.hash("ABCD-1234") == after.hash("ABCD-1234") != stored
    assert during.matches("ABCD-1234", stored, key_id(OLD))
    assert not during.matches("ABCD-1234", stored, key_id(NEW))
    assert not after.matches("ABCD-1234", stored, key_id(OLD))
    assert during.matches("ABCD-1234", stored)  # under any listed secret
    assert not after.matches("ABCD-1234", stored)
    assert stored not in after.hashes("ABCD-1234")
    assert (during.key_id, after.key_id) == (key_id(NEW), key_id(NEW))


def test_sealed_values_open_under_the_secret_their_key_id_names_while_it_is_listed() -> None:
    sealed = Sealer(ServerSecrets.of([OLD]), "test").seal(b"value")
    assert Sealer(ServerSecrets.of([NEW, OLD]), "test").open(sealed, key_id(OLD)) == b"value"
    assert Sealer(ServerSecrets.of([NEW, OLD]), "test").key_id == key_id(NEW)
    with pytest.raises(RetiredSecret):
        Sealer(ServerSecrets.of([NEW]), "test").open(sealed, key_id(OLD))
