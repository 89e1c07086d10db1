"""Model access: a request may use a model only when its key's `allowed_models` and its team's
both permit it. One implementation for chat, /v1/messages, embeddings and the models listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portico.errors import PermissionDenied
from portico.pipeline.teams import TeamDirectory
from portico.store.records import KeyRecord


def permits(patterns: Sequence[str], model: str) -> bool:
    """Whether one allow-list admits `model`: an empty list admits every model; an entry is a
    model name, or `prefix/*` for every model named `prefix/...`."""
    if not patterns:
        return True
    return model in patterns or any(
        p.endswith("/*") and model.startswith(p[:-1]) for p in patterns)


@dataclass(frozen=True, slots=True)
class ModelAccess:
    """The allow-lists that bind one request; every one of them must admit the model."""

    key: Sequence[str] = ()
    team: Sequence[str] = ()

    def permits(self, model: str) -> bool:
        return permits(self.key, model) and permits(self.team, model)


EVERY_MODEL = ModelAccess()


async def model_access(key: KeyRecord | None, teams: TeamDirectory | None) -> ModelAccess:
    """The allow-lists for a caller (None: the master key, which may use every model). The
    team comes from the directory's cache: no store read while it is fresh, none at all for
    a key without a team."""
    if key is None:
        return EVERY_MODEL
    team = await teams.settings_of(key.team) if teams is not None else None
    team_models = team.allowed_models if team is not None else ()
    if not key.allowed_models and not team_models:
        return EVERY_MODEL
    return ModelAccess(key=key.allowed_models, team=team_models)


def refusal(model: str) -> PermissionDenied:
    """The one answer for a model the key or its team may not use; it names only the model
    the client asked for, never which list refused it or what the lists hold."""
    return PermissionDenied(f"this key may not use the model `{model}`", param="model",
                            code="model_not_allowed")


async def require_model(key: KeyRecord | None, teams: TeamDirectory | None,
                        model: str) -> None:
    """Raise `refusal(model)` unless both the key and its team permit `model`."""
    if key is None or (not key.allowed_models and key.team is None):
        return   # the common case decides without building anything
    if not (await model_access(key, teams)).permits(model):
        raise refusal(model)
