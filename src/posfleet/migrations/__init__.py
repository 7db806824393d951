"""Alembic migrations, run through :func:`upgrade` (``posfleet db upgrade``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from posfleet.config import Settings

HERE = Path(__file__).parent


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.attributes["settings"] = settings
    return config


@cache
def head_revision() -> str | None:
    return ScriptDirectory(str(HERE), version_locations=[str(HERE / "versions")]).get_current_head()


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def check(settings: Settings) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(settings))
