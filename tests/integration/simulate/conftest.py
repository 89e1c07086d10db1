"""Fixtures: one simulated upstream per dialect on an ephemeral loopback port, and a raw client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from portico.simulate import LedgerEntry, Simulator


@pytest.fixture
async def openai_sim() -> AsyncIterator[Simulator]:
    async with Simulator("openai") as sim:
        yield sim


@pytest.fixture
async def anthropic_sim() -> AsyncIterator[Simulator]:
    async with Simulator("anthropic") as sim:
        yield sim


@pytest.fixture
async def gemini_sim() -> AsyncIterator[Simulator]:
    async with Simulator("gemini") as sim:
        yield sim


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def wait_for_entry(
    sim: Simulator, check: Callable[[LedgerEntry], bool], attempts: int = 200
) -> LedgerEntry:
    """The last ledger entry once `check` holds (the server may still be finishing up)."""
    for _ in range(attempts):
        if len(sim.ledger) and check(sim.ledger.last()):
            return sim.ledger.last()
        await asyncio.sleep(0.01)
    raise AssertionError(f"ledger never satisfied the check: {sim.ledger.entries()[-1:]}")
