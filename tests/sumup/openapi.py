"""SumUp's published OpenAPI 3.0 description as JSON Schema validators, for the tests.

The file is OpenAPI 3.0: `nullable: true` becomes a "null" type and `$ref`s resolve inside
the document (through `referencing`). Whole-document validation is not attempted (the file
has 3.1-style bits SumUp's README warns of); each request and response is checked against
the schema its operation declares for that status and content type, and, because SumUp's
schemas allow extra properties, against the list of properties they name, so a misspelt or
invented field fails too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.config import PROJECT_ROOT

# Vendored into the repository (see vendor/README.md): a missing file is an error, never a skip.
OPENAPI_FILE = PROJECT_ROOT / "tests" / "sumup" / "vendor" / "openapi.json"
DOCUMENT_URI = "urn:sumup:openapi"


class SpecViolation(AssertionError):
    pass


@cache
def document() -> dict[str, Any]:
    if not OPENAPI_FILE.exists():
        raise FileNotFoundError(
            f"SumUp's OpenAPI description is missing: expected {OPENAPI_FILE} "
            "(tests/sumup/vendor/openapi.json, vendored from sumup/sumup-py)"
        )
    return _from_openapi_30(json.loads(Path(OPENAPI_FILE).read_text()))


def _from_openapi_30(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` in JSON Schema terms; examples dropped (not schema)."""
    if isinstance(node, list):
        return [_from_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: _from_openapi_30(value)
        for key, value in node.items()
        if key not in ("example", "examples", "nullable")
    }
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    return converted


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOCUMENT_URI, resource)


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"{DOCUMENT_URI}#/components/schemas/{name}"}


def _absolute_refs(node: Any) -> Any:
    """An operation's inline schema refers to "#/components/...": of the document."""
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: DOCUMENT_URI + value
        if key == "$ref" and isinstance(value, str) and value.startswith("#")
        else _absolute_refs(value)
        for key, value in node.items()
    }


def validate(instance: Any, schema: dict[str, Any], *, what: str) -> None:
    errors = sorted(
        _validator(_absolute_refs(schema)).iter_errors(instance), key=lambda e: list(e.path)
    )
    if errors:
        details = "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        raise SpecViolation(f"{what} does not fit SumUp's schema: {details}")
    _check_known_properties(instance, schema, what=what)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        pointer = schema["$ref"].split("#", 1)[1]  # relative or under DOCUMENT_URI
        node: Any = document()
        for part in pointer.strip("/").split("/"):
            node = node[part]
        schema = node
    return schema


def _properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Every property an object schema names (through allOf); None when it names none."""
    schema = _resolve(schema)
    names: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", []):
        names.update(_properties(part) or {})
    names.update(schema.get("properties", {}))
    if not names or schema.get("additionalProperties") is True:
        return None  # an open object (Problem, the refund's {}): anything goes
    return names


def _check_known_properties(instance: Any, schema: dict[str, Any], *, what: str) -> None:
    schema = _resolve(schema)
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            _check_known_properties(item, schema["items"], what=f"{what}[{index}]")
        return
    if not isinstance(instance, dict):
        return
    known = _properties(schema)
    if known is None:
        return
    unknown = sorted(set(instance) - set(known))
    if unknown:
        raise SpecViolation(f"{what} has properties SumUp's schema does not name: {unknown}")
    for key, value in instance.items():
        _check_known_properties(value, known[key], what=f"{what}.{key}")


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    for template, item in document()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return template, item[method.lower()]
    raise SpecViolation(f"{method} {path} is not an operation of SumUp's API")


def validate_request(method: str, path: str, body: Any | None) -> None:
    template, operation = _operation(method, path)
    request_body = operation.get("requestBody")
    if body is None:
        if request_body and request_body.get("required"):
            raise SpecViolation(f"{method} {template} needs a body")
        return
    if not request_body:
        raise SpecViolation(f"{method} {template} takes no body")
    schema = request_body["content"]["application/json"]["schema"]
    validate(body, schema, what=f"request {method} {template}")


def validate_response(method: str, path: str, status: int, content_type: str, body: Any) -> None:
    template, operation = _operation(method, path)
    documented = operation["responses"].get(str(status))
    if documented is None:
        raise SpecViolation(f"{method} {template} does not document status {status}")
    media = content_type.split(";", 1)[0].strip()
    content = documented.get("content", {})
    if media not in content:
        raise SpecViolation(
            f"{method} {template} {status} answers {sorted(content)}, not {media!r}"
        )
    validate(body, content[media]["schema"], what=f"response {method} {template} {status}")
