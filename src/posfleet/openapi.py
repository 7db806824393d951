"""The served OpenAPI document, made to tell the truth about errors.

FastAPI advertises a 422 on every operation with input; posfleet never sends one (validation
failures are 400 in the dialect's shape).  This removes it and gives every operation the error
statuses it can answer, each with its dialect's error body:

* every operation with input: 400 (malformed input, unknown values);
* every operation with a body: 413 (over ``max_body_bytes``);
* every operation that takes a credential, or signs in: 401 and 403;
* every operation with input: 404 (an unknown code, uid, store or resource in the path) and
  429 (attempt budgets, ``kit/ratelimit.py``; a shed password check);
* an operation with an ``Idempotency-Key``: 409 (the same key still in progress).

Descriptions an operation gives for a status are kept; the body schema is the dialect's.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

COMMERCE_PREFIX = "/api/v1/"
NO_INPUT = frozenset({"/healthz", "/readyz", "/.well-known/jwks.json"})

FLOW_ERROR = {
    "type": "object",
    "description": "Flow's generic error body",
    "required": ["code", "message", "logId"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "logId": {"type": "string", "description": "Find the request's log line with it"},
    },
}
COMMERCE_ERROR = {
    "type": "object",
    "description": "The Commerce Engine error envelope",
    "required": ["message", "success", "code"],
    "properties": {
        "message": {"type": "string"},
        "success": {"type": "boolean", "enum": [False]},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
DESCRIPTIONS = {
    "400": "The request is malformed or names unknown values",
    "401": "Missing, malformed, expired or revoked credential, or wrong sign-in details",
    "403": "The credential does not allow this",
    "404": "No such resource (or code) here",
    "409": "A request with this Idempotency-Key is still in progress",
    "413": "The request body is larger than max_body_bytes",
    "429": "An attempt budget is spent; retry after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def _statuses(path: str, operation: dict[str, Any]) -> list[str]:
    if path in NO_INPUT:
        return []
    statuses = ["400", "404", "429"]
    if "requestBody" in operation:
        statuses.append("413")
    parameters = operation.get("parameters", [])
    credential = "security" in operation or path.startswith(COMMERCE_PREFIX)
    signs_in = path.endswith(("/login", "/account"))
    if credential or signs_in:
        statuses += ["401", "403"]
    if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in parameters):
        statuses.append("409")
    return sorted(statuses)


NO_NUL = "^[^\\x00]*$"


def _refuse_nul(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Give every string of an input schema a pattern without NUL, as ``kit/input.py`` and
    the NUL check of paths and queries enforce (a string with its own pattern already has
    one that excludes NUL)."""
    if isinstance(node, list):
        for item in node:
            _refuse_nul(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen and name in components:
            seen.add(name)
            _refuse_nul(components[name], components, seen)
        return
    if node.get("type") == "string" and "pattern" not in node and "enum" not in node:
        node["pattern"] = NO_NUL
    if node.get("type") == "object" and node.get("additionalProperties") not in (None, False):
        node.setdefault("propertyNames", {"pattern": NO_NUL})
    for key, value in node.items():
        if key not in ("pattern", "enum", "const", "default", "examples", "example"):
            _refuse_nul(value, components, seen)


def build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["FlowError"] = FLOW_ERROR
    components["CommerceError"] = COMMERCE_ERROR
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        error = "CommerceError" if path.startswith(COMMERCE_PREFIX) else "FlowError"
        for method, operation in operations.items():
            if method == "parameters":
                continue
            seen: set[str] = set()
            _refuse_nul(operation.get("requestBody"), components, seen)
            for parameter in operation.get("parameters", []):
                _refuse_nul(parameter.get("schema"), components, seen)
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            # A route's own 4xx (a 409 of a unique rule, say) gets the dialect's shape too.
            declared = {status for status in responses if status.startswith("4")}
            for status in sorted(declared | set(_statuses(path, operation))):
                given = responses.get(status, {})
                responses[status] = {
                    "description": given.get("description") or DESCRIPTIONS.get(status, "Refused"),
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}
                    },
                    **({"headers": RETRY_AFTER} if status == "429" else {}),
                }
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s document at ``/openapi.json`` (built once per process)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
