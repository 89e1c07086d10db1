"""PII modes through the whole gateway: what the simulated upstream received, what the client
saw (the simulator echoes the user's words, so placeholders come back split across chunks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from portico.config.model import AuditConfig, PiiConfig, PorticoConfig
from portico.privacy.detector import PiiDetector
from portico.simulate.faults import FaultRule
from portico.store.records import KeySettings
from tests.integration.privacy.conftest import Privacy, privacy_gateway

NAME = "Sarah Johnson"
EMAIL = "sarah.j@example.com"
CARD = "4111 1111 1111 1111"
PROMPT = f"Hi, my name is {NAME}; mail {EMAIL}, card {CARD}."


def patterns_only(cfg: PorticoConfig, urls: dict[str, str]) -> PorticoConfig:
    return msgspec.structs.replace(cfg, pii=PiiConfig(mode="mask", use_model=False),
                                   audit=AuditConfig(capture_content=True))


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Privacy]:
    async with privacy_gateway(tmp_path, patterns_only) as p:
        yield p


def body(text: str = PROMPT, tokens: int | None = None) -> dict[str, object]:
    out: dict[str, object] = {"model": "gpt-4o-mini",
                              "messages": [{"role": "user", "content": text}]}
    if tokens is not None:
        out["max_tokens"] = tokens
    return out


def assert_never_upstream(p: Privacy, *values: str) -> None:
    bodies = p.upstream_bodies()
    assert bodies
    for b in bodies:
        for v in values:
            assert v not in b


async def test_mask_non_stream_round_trip(gw: Privacy) -> None:
    status, out = await gw.chat(body())
    assert status == 200
    text = out["choices"][0]["message"]["content"]  # type: ignore[index]
    assert NAME in text and EMAIL in text and "<PERSON_" not in text and "<EMAIL_" not in text
    assert_never_upstream(gw, NAME, EMAIL, CARD, "Johnson")
    assert "<PERSON_1>" in gw.upstream_bodies()[-1]


async def test_mask_stream_restores_placeholders_split_at_every_offset(gw: Privacy) -> None:
    # Shift the placeholder across chunk boundaries: every prefix length, several chunkings,
    # and one character per chunk (every offset of every placeholder split at once).
    text = f"my name is {NAME} {EMAIL}"
    sim = gw.sims["openai"]
    seen = 0
    for chunks in (3, 7, 11, 200):
        for pad in range(12):
            sim.faults.push(FaultRule(chunks=chunks))
            prompt = "x" * pad + " " + text + " tail"
            # The simulator echoes 4*max_tokens characters of the (masked) prompt, repeated:
            # ask for one full repetition plus at most three characters of the next.
            masked = prompt.replace(NAME, "<PERSON_1>").replace(EMAIL, "<EMAIL_1>")
            got = await gw.stream_text(body(prompt, tokens=-(-len(masked.strip() + " ") // 4)))
            assert got.startswith(prompt.strip()), (chunks, pad, got)
            assert "<PERSON" not in got and "<EMAIL" not in got and "_1>" not in got
            seen += 1
    assert seen == 48
    assert_never_upstream(gw, NAME, EMAIL, "Johnson")
    assert all("<PERSON_1> <EMAIL_1>" in b for b in gw.upstream_bodies())


async def test_block_mode_returns_400_naming_types_only(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, patterns_only) as p:
        key = await p.new_key(KeySettings(pii_mode="block"))
        before = len(p.sims["openai"].ledger)
        status, out = await p.chat(body(), key=key)
        assert status == 400
        err = out["error"]
        assert isinstance(err, dict) and err["code"] == "pii_detected"
        message = str(err["message"])
        for kind in ("PERSON", "EMAIL", "CREDIT_CARD"):
            assert kind in message
        for value in (NAME, "Johnson", EMAIL, CARD, "4111"):
            assert value not in message
        assert len(p.sims["openai"].ledger) == before   # nothing was sent


async def test_detect_mode_leaves_the_upstream_body_unchanged_but_counts(
        tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, patterns_only) as p:
        key = await p.new_key(KeySettings(pii_mode="detect"))
        status, _ = await p.chat(body(), key=key)
        assert status == 200
        sent = msgspec.json.decode(p.upstream_bodies()[-1])
        assert sent["messages"][0]["content"] == PROMPT   # verbatim
        await p.drain()
        events = await p.gateway.store.list_audit()
        (request,) = [e.event for e in events if e.event.action == "chat.request"]
        assert request.detail["pii"] == {"CREDIT_CARD": 1, "EMAIL": 1, "PERSON": 1}
        assert request.detail["data_class"] == "sensitive"


async def test_off_key_sends_verbatim_and_records_nothing(tmp_path: Path) -> None:
    def off(cfg: PorticoConfig, urls: dict[str, str]) -> PorticoConfig:
        return msgspec.structs.replace(cfg, pii=PiiConfig(mode="off", use_model=False))

    async with privacy_gateway(tmp_path, off) as p:
        assert p.gateway.detectors is not None and p.gateway.detectors.ready is None
        status, _ = await p.chat(body())
        assert status == 200
        assert PROMPT in p.upstream_bodies()[-1]
        assert p.gateway.detectors.ready is None   # the detector was never even built


async def test_names_found_by_the_ner_model_are_masked(tmp_path: Path,
                                                       ner_detector: PiiDetector) -> None:
    async with privacy_gateway(tmp_path, patterns_only) as p:
        assert p.gateway.detectors is not None
        p.gateway.detectors.install(ner_detector)
        prompt = "Please write to Margaret Thompson in Chicago about the invoice."
        got = await p.stream_text(body(prompt, tokens=40))
        assert "Margaret Thompson" in got and "Chicago" in got
        assert_never_upstream(p, "Margaret", "Thompson", "Chicago")
