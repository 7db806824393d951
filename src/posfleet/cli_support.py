"""What every ``posfleet`` command module shares: run a coroutine with a runtime, one unit of
work, one ``error: …`` line with exit status 1 for every failure, and plain tables.

Command modules (``cli.py`` and each domain's ``cli.py``) import this module and never each
other, so ``cli.py`` can register any of them with one line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from posfleet.config import Settings
from posfleet.db import session_scope
from posfleet.errors import AppError
from posfleet.runtime import Runtime

T = TypeVar("T")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the answer to exit with status 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def describe_invalid(exc: ValidationError) -> str:
    """A pydantic error as one line: ``field: why; field: why``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
    )


def database_problem(exc: BaseException) -> str:
    """One line saying why the database could not be used."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return f"database: {text}"


def load_settings() -> Settings:
    """The settings from the environment; a mistyped ``POSFLEET_*`` is one line."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"POSFLEET_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(f"invalid settings: {problems}") from None


def create_runtime(settings: Settings) -> Runtime:
    try:
        return Runtime.create(settings)
    except RuntimeError as exc:  # a production setting that is missing (the secret key)
        raise fail(str(exc)) from None


def run_async(work: Callable[[Runtime], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` with a runtime; turn domain and database errors into one line."""

    async def main() -> T:
        runtime = create_runtime(settings or load_settings())
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except AppError as exc:
        raise fail(exc.message) from None
    except ValidationError as exc:
        raise fail(describe_invalid(exc)) from None
    except (SQLAlchemyError, OSError) as exc:
        # OSError: the database server cannot be reached (refused, unknown host, timeout).
        raise fail(database_problem(exc)) from None


def in_unit_of_work(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work, committed when it succeeds."""

    async def run(runtime: Runtime) -> T:
        async with session_scope(runtime.sessionmaker) as session:
            return await work(session)

    return run_async(run)


def in_unit_of_work_with_runtime(work: Callable[[AsyncSession, Runtime], Awaitable[T]]) -> T:
    """As :func:`in_unit_of_work`, for services that need the runtime too."""

    async def run(runtime: Runtime) -> T:
        async with session_scope(runtime.sessionmaker) as session:
            return await work(session, runtime)

    return run_async(run)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def show(fields: dict[str, Any]) -> str:
    """One row's fields as ``name: value`` lines (JSON for lists and objects)."""
    width = max((len(k) for k in fields), default=0)
    return "\n".join(
        f"{k.ljust(width)}  {json.dumps(v) if isinstance(v, list | dict) else v}"
        for k, v in fields.items()
    )


F = TypeVar("F", bound=BaseModel)


def parse_fields(kind: type[F], pairs: Sequence[str] | None, /, **given: Any) -> F:
    """``kind`` from options (``None`` means not given) and ``--set name=value`` pairs.

    A name is a field's camelCase or snake_case name; a value is JSON (``true``, ``12``,
    ``["a"]``) except for text fields, which take it as it is.
    """
    values = {name: value for name, value in given.items() if value is not None}
    for pair in pairs or ():
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise fail(f"--set takes name=value, not {pair!r}")
        field = _field_name(kind, name.strip())
        annotation = kind.model_fields[field].annotation
        if annotation is str:
            values[field] = raw
        else:
            try:
                values[field] = json.loads(raw)
            except json.JSONDecodeError:
                values[field] = raw
    return kind.model_validate(values)


def _field_name(kind: type[BaseModel], name: str) -> str:
    for field, info in kind.model_fields.items():
        if name in (field, info.alias):
            return field
    known = ", ".join(sorted(info.alias or f for f, info in kind.model_fields.items()))
    raise fail(f"{name!r} is not a field; the fields are: {known}")
