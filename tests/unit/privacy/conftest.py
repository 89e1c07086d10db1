"""One real PII detector (spaCy pipeline and all) per test session: loading takes about a second."""

from __future__ import annotations

import pytest

from portico.privacy.detector import PiiDetector


@pytest.fixture(scope="session")
def detector() -> PiiDetector:
    return PiiDetector()
