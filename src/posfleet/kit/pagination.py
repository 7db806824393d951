"""Paging and sorting parameters shared by every list endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from posfleet.errors import ValidationFailed

T = TypeVar("T")


class SortDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


@dataclass(frozen=True, slots=True)
class Keyset:
    """A position in a sorted list: the sort value and id of the last item before a page.

    A page asked for after a position starts there whatever the rows before it became (keyset
    paging): it costs the same at page 10,000 as at page 2, where an offset walks every row
    before it.
    """

    value: Any
    id: int


@dataclass(frozen=True, slots=True)
class PageRequest:
    page_number: int
    page_size: int
    sort_by: str
    sort_direction: SortDirection
    #: Start after this position instead of at ``offset``; ``page_number`` is then only the
    #: number the page is reported with.
    after: Keyset | None = None

    @property
    def offset(self) -> int:
        return (self.page_number - 1) * self.page_size

    @classmethod
    def parse(
        cls,
        *,
        page_number: int | None,
        page_size: int | None,
        sort_by: str | None,
        sort_direction: str | None,
        sortable: frozenset[str],
        default_sort: str,
        default_size: int,
        max_size: int,
    ) -> PageRequest:
        errors: dict[str, str] = {}
        number = 1 if page_number is None else page_number
        size = default_size if page_size is None else page_size
        if number < 1:
            errors["pageNumber"] = "must be 1 or more"
        if not 1 <= size <= max_size:
            errors["pageSize"] = f"must be between 1 and {max_size}"
        field = sort_by or default_sort
        if field not in sortable:
            errors["sortBy"] = "must be one of " + ", ".join(sorted(sortable))
        direction = (sort_direction or "ASC").upper()
        if direction not in SortDirection.__members__:
            errors["sortDirection"] = "must be ASC or DESC"
        if errors:
            raise ValidationFailed("; ".join(f"{k} {v}" for k, v in errors.items()), errors=errors)
        return cls(number, size, field, SortDirection(direction))


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page_number: int
    page_size: int
    total_count: int
    #: Where the next page starts, for lists that page by position; None on the last page.
    next: Keyset | None = None
