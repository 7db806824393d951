"""Demo data that looks like a real retailer; see ``docs/demo.md`` for the manifest contract."""

from posfleet.demo.seed import seed_demo

__all__ = ["seed_demo"]
