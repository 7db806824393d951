"""docs/configuration.md lists every setting, exactly as the code defines it."""

from __future__ import annotations

from pathlib import Path

from posfleet.config import Settings
from posfleet.configdoc import MEANINGS, env_name, render_table, rewrite

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_has_a_meaning_and_no_meaning_outlives_its_setting() -> None:
    assert set(MEANINGS) == set(Settings.model_fields)


def test_the_configuration_document_holds_the_table_generated_from_settings() -> None:
    """Run ``python -m posfleet.configdoc docs/configuration.md`` when this fails."""
    document = DOC.read_text()
    assert render_table() in document
    assert rewrite(document) == document


def test_every_setting_appears_with_its_environment_variable() -> None:
    document = DOC.read_text()
    missing = [
        name
        for name in Settings.model_fields
        if f"| `{name}` | `{env_name(name)}` |" not in document
    ]
    assert missing == []
