"""The model-backed detector: names and places, no network, and no download of a missing model."""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from typing import Any

import pytest

from portico.privacy.detector import DetectorConfig, DetectorUnavailable, PiiDetector
from portico.privacy.entities import EntityType


def kinds_of(detector: PiiDetector, text: str) -> dict[str, EntityType]:
    return {text[e.start:e.end]: e.type for e in detector.detect(text)}


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("Please forward the contract to Sarah Johnson before Friday.", "Sarah Johnson",
     EntityType.PERSON),
    ("My name is Kevin Okafor and I need help.", "Kevin Okafor", EntityType.PERSON),
    ("Dr. Patel approved the request.", "Dr. Patel", EntityType.PERSON),
    ("We are opening a new office in Berlin next spring.", "Berlin", EntityType.LOCATION),
    ("The customer is travelling to Canada next week.", "Canada", EntityType.LOCATION),
    ("Send it to 4821 Wilson Path Suite 120, Lake Jenniferberg, NE 84930 today.",
     "4821 Wilson Path Suite 120, Lake Jenniferberg, NE 84930", EntityType.ADDRESS),
])
def test_names_and_places(detector: PiiDetector, text: str, value: str, kind: EntityType) -> None:
    assert kinds_of(detector, text).get(value) == kind


def test_spans_do_not_overlap_and_structured_wins(detector: PiiDetector) -> None:
    text = "Contact John Smith at john.smith@example.com or 203.0.113.9."
    entities = detector.detect(text)
    assert [e.start for e in entities] == sorted(e.start for e in entities)
    assert all(a.end <= b.start for a, b in itertools.pairwise(entities))
    assert kinds_of(detector, text)["john.smith@example.com"] == EntityType.EMAIL


def test_clean_text_has_no_entities(detector: PiiDetector) -> None:
    assert detector.detect("Explain the difference between a mutex and a semaphore.") == []
    assert detector.detect("   ") == []


def test_organizations_are_opt_in() -> None:
    config = DetectorConfig(use_model=False)
    assert EntityType.ORGANIZATION not in config.entities


def test_missing_pipeline_is_refused_not_downloaded() -> None:
    with pytest.raises(DetectorUnavailable):
        PiiDetector(DetectorConfig(pipeline="en_core_web_definitely_missing"))


def test_no_network_during_load_or_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                attempts.append(address)
                raise OSError(f"network access attempted: {address!r}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    # The guard itself works: a non-loopback connect is refused and recorded.
    with socket.socket() as probe, pytest.raises(OSError):
        probe.connect(("192.0.2.1", 443))
    assert attempts
    attempts.clear()

    detector = PiiDetector()
    text = ("Jane Roe (jane.roe@example.org, https://portal.example.co.uk) called from "
            "+1 415-555-2671 about card 4111 1111 1111 1111.")
    kinds = {e.type for e in detector.detect(text)}
    assert {EntityType.EMAIL, EntityType.PHONE, EntityType.CREDIT_CARD} <= kinds
    assert attempts == []
    assert os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] == ""
