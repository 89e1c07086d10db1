"""Upstream keys benched after the provider rejected them (401/403), for a cool-down."""

from __future__ import annotations

from portico.clock import Clock


class KeyCooldown:
    def __init__(self, clock: Clock, seconds: float = 300.0) -> None:
        self._clock = clock
        self._seconds = seconds
        self._until: dict[str, float] = {}

    def bench(self, key_id: str) -> None:
        self._until[key_id] = self._clock.monotonic() + self._seconds

    def benched(self, key_id: str) -> bool:
        until = self._until.get(key_id)
        if until is None:
            return False
        if self._clock.monotonic() >= until:
            del self._until[key_id]
            return False
        return True
