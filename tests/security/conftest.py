"""Fixtures for the security suite: a demo gateway on loopback and an aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.gateway import Running, demo_gateway


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async with demo_gateway(tmp_path) as r:
        yield r


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
