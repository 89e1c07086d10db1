"""Validation of wire payloads against OpenAI's published OpenAPI document (shared/reference)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai-openapi.yaml"


@functools.cache
def _document() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        raise FileNotFoundError(f"OpenAI OpenAPI spec missing at {SPEC_PATH}")
    with SPEC_PATH.open() as f:
        doc: dict[str, Any] = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    fixed: dict[str, Any] = _honour_nullable(doc)
    return fixed


def _honour_nullable(node: Any) -> Any:
    """Read OpenAPI 3.0 `nullable: true` (still used in OpenAI's 3.1 document) as JSON Schema.

    JSON Schema 2020-12 ignores `nullable`, so `"logprobs": null` or `"finish_reason": null`,
    which OpenAI itself sends, would otherwise fail validation.
    """
    if isinstance(node, list):
        return [_honour_nullable(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _honour_nullable(v) for k, v in node.items()}
    if out.pop("nullable", False) is not True:
        return out
    if isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [out, {"type": "null"}]}


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    doc = _document()
    if name not in doc["components"]["schemas"]:
        raise KeyError(f"no schema {name!r} in the OpenAI spec")
    root = {"components": doc["components"], "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(root)


def validate(name: str, payload: object) -> None:
    """Raise jsonschema.ValidationError when payload does not match the named schema."""
    _validator(name).validate(payload)
