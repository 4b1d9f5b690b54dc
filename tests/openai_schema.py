"""Validate what llmrelay emits against OpenAI's published OpenAPI component schemas.

The schemas are extracted from openai/openai-openapi (commit recorded inside the JSON file) with
`#/components/schemas/Name` references. They still mark nullable fields the OpenAPI 3.0 way
(`nullable: true`), which JSON Schema ignores, so each such schema is rewritten on load to
`anyOf: [schema, {type: null}]`, which is what the spec means.

    >>> assert_valid(body, "CreateChatCompletionResponse")
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).parent / "fixtures" / "openai-schemas.json"
_ROOT_URI = "urn:openai-openapi"


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = _nullable_to_anyof(json.loads(SCHEMAS.read_text()))
    return document


def _nullable_to_anyof(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_to_anyof(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _nullable_to_anyof(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    document = _document()
    if name not in document["components"]["schemas"]:
        raise KeyError(f"no component schema named {name!r}")
    registry: Registry[Any] = Registry().with_resource(_ROOT_URI, Resource(document, specification=DRAFT202012))
    schema = {"$ref": f"{_ROOT_URI}#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def errors(instance: object, name: str) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in _validator(name).iter_errors(instance)
    ]


def assert_valid(instance: object, name: str) -> None:
    found = errors(instance, name)
    assert not found, f"not a valid {name}:\n" + "\n".join(found)
