from pathlib import Path

# The Flow contract the tests hold posfleet to (its origin: data/README.md).
FLOW_SPEC = Path(__file__).resolve().parent / "data" / "flow-retail-device-v2.openapi.json"
