"""The model list (OpenAI's ListModelsResponse)."""

from __future__ import annotations

from typing import Literal

import msgspec


class Model(msgspec.Struct):
    id: str
    created: int
    owned_by: str
    object: Literal["model"] = "model"


class ModelList(msgspec.Struct):
    data: list[Model]
    object: Literal["list"] = "list"
