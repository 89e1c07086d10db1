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
    return doc


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
