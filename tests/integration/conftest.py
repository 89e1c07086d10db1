"""The whole gateway with its three simulated upstreams, per test (see tests/support/gateway.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.gateway import Running, demo_gateway


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with demo_gateway(tmp_path) as r:
        yield r
        for c in r.clients:
            await c.close()
