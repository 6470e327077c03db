"""A small checker of JSON values against OpenAPI 3.0 schemas (what spot_api.yaml uses).

Why not a library: the swagger file needs only ``type``, ``properties``,
``required``, ``items``, ``enum``, ``nullable``, ``$ref`` and ``oneOf``/``anyOf``,
and the conformance tests want every mismatch listed with its JSON path, not the
first exception.  ``oneOf`` is checked as ``anyOf``: the file's alternatives
overlap (an ACK order response is also a prefix of RESULT), as Binance's
answers are chosen by request parameters, not by shape.
"""

from __future__ import annotations

from typing import Any

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
            seen += 1
            if seen > 50:
                raise ValueError("reference cycle")
        return schema

    def response_schema(self, path: str, method: str, status: str = "200") -> dict[str, Any] | None:
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return None
        response = self.resolve(operation["responses"][status])
        content = response.get("content", {}).get("application/json")
        return None if content is None else content.get("schema")

    def check(self, schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
        """Every way ``value`` departs from ``schema`` (an empty list: it conforms)."""
        schema = self.resolve(schema)
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if alternatives:
            reports = [self.check(alternative, value, where) for alternative in alternatives]
            if any(not report for report in reports):
                return []
            return min(reports, key=len)
        if value is None:
            return [] if schema.get("nullable") else [f"{where}: null"]
        kind = schema.get("type")
        if kind is not None and not _TYPES[kind](value):
            return [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{where}: {value!r} not in {schema['enum']}"]
        errors: list[str] = []
        if isinstance(value, dict):
            for name in schema.get("required", []):
                if name not in value:
                    errors.append(f"{where}.{name}: missing")
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    errors.extend(self.check(sub, value[name], f"{where}.{name}"))
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                errors.extend(self.check(schema["items"], item, f"{where}[{index}]"))
        return errors
