"""An example of every request and response body in the OpenAPI document, made from its own schema.

Written by hand, examples drift from the models; made from the schema they
cannot. A field's own `examples` (pydantic `Field(examples=...)`) or a model's
`json_schema_extra` example wins; otherwise a value of the field's type and
format (a fixed UUID, a date, "1.000" for a Decimal, the first enum value).
Optional fields are left out unless they carry an example of their own, so a
request example is the smallest body of its shape.
"""

from __future__ import annotations

import typing
from collections.abc import Set
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

SAMPLE_ID = "3f2b8c1e-7a4d-4e9b-9c2a-5d6e7f8a9b0c"
BY_FORMAT = {
    "uuid": SAMPLE_ID,
    "date-time": "2026-03-01T09:30:00Z",
    "date": "2026-03-01",
    "email": "ops@example.com",
    "password": "a long passphrase",
}
DEPTH = 6  # a recursive schema (the organization tree) stops here
DECIMAL = "1.000"  # Decimals travel as strings, exactly


def decimal_fields(model: Any, seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Names of the Decimal fields of `model` and the models inside it (a Decimal's schema is a string)."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    for kind in _types(model):
        if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in seen:
            seen.add(kind)
            for name, field in kind.model_fields.items():
                if Decimal in _types(field.annotation):
                    found.add(name)
                found |= decimal_fields(field.annotation, seen)
    return found


def _types(annotation: Any) -> set[Any]:
    """Every type an annotation mentions (unions, lists, Annotated)."""
    args = typing.get_args(annotation)
    return {annotation}.union(*(_types(a) for a in args)) if args else {annotation}


def add(operation: dict[str, Any], schemas: dict[str, Any], decimals: Set[str] = frozenset()) -> None:
    """Give the operation's JSON request body and success responses an example, unless they have one."""
    bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            bodies.append(response.get("content", {}).get("application/json"))
    for body in bodies:
        if body and "schema" in body and "example" not in body and "examples" not in body:
            body["example"] = Example(schemas, decimals).of(body["schema"])


class Example:
    """Makes a value for a schema; `decimals` names the fields that are Decimals."""

    def __init__(self, schemas: dict[str, Any], decimals: Set[str]) -> None:
        self.schemas = schemas
        self.decimals = decimals

    def of(self, schema: dict[str, Any], depth: int = 0) -> Any:
        """A value that satisfies `schema` (components referenced by `$ref` are looked up)."""
        if "$ref" in schema:
            return self.of(self.schemas[schema["$ref"].rsplit("/", 1)[-1]], depth)
        for key in ("example", "const"):
            if key in schema:
                return schema[key]
        for key in ("examples", "enum"):
            if schema.get(key):
                return schema[key][0]
        if schema.get("default") is not None:
            return schema["default"]
        for key in ("anyOf", "oneOf", "allOf"):
            choices = [c for c in schema.get(key, []) if c.get("type") != "null"]
            if {c.get("type") for c in choices} == {"number", "string"}:
                return DECIMAL  # a Decimal as a request takes it: number or string
            if choices:
                return self.of(choices[0], depth)
        return self._typed(schema, depth)

    def _typed(self, schema: dict[str, Any], depth: int) -> Any:
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {} if depth >= DEPTH else self._object(schema, depth)
        if kind == "array":
            return [] if depth >= DEPTH else [self.of(schema.get("items", {}), depth + 1)]
        if kind == "string":
            return BY_FORMAT.get(schema.get("format", ""), "text".ljust(schema.get("minLength", 0), "x"))
        if kind == "integer":
            return max(1, schema.get("minimum", 1))
        if kind == "number":
            return 1.5
        if kind == "boolean":
            return True
        return None

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        required = set(schema.get("required", ()))
        shown = {}
        for name, field in schema.get("properties", {}).items():
            if name in required or "examples" in field or "example" in field:
                decimal = name in self.decimals and "$ref" not in field and "items" not in field
                shown[name] = DECIMAL if decimal else self.of(field, depth + 1)
        return shown
