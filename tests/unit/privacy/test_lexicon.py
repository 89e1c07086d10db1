"""Name/region lexicons: the gazetteer, the "First Last" rule and the model second opinion."""

from __future__ import annotations

import pytest

from portico.privacy._lexicon import NamePairRecognizer, RegionRecognizer, load_lexicon
from portico.privacy.detector import PiiDetector
from portico.privacy.entities import EntityType

_DICTIONARY = {"noun": ["leaf", "bank", "memory", "management", "grace"], "verb": ["leave", "bank"]}


def spans(recognizer: NamePairRecognizer | RegionRecognizer, text: str) -> list[str]:
    return [text[r.start:r.end] for r in recognizer.analyze(text, [])]


def test_name_pairs_need_a_known_first_name_and_a_surname_that_is_no_plain_word() -> None:
    rec = NamePairRecognizer(load_lexicon(_DICTIONARY))
    assert spans(rec, "Forward it to Teresa Little before Friday.") == ["Teresa Little"]
    assert spans(rec, "Ask Larry Armstrong IV.") == ["Larry Armstrong IV"]
    assert spans(rec, "Summarize This Kenneth Ingram memo.") == ["Kenneth Ingram"]
    assert spans(rec, "A haiku about Autumn Leaves.") == []
    assert spans(rec, "Chase Bank called.") == []


def test_regions_fold_connectors_and_accents_and_spare_first_names() -> None:
    rec = RegionRecognizer(load_lexicon(_DICTIONARY))
    assert spans(rec, "Travelling to Sao Tome and Principe soon.") == ["Sao Tome and Principe"]
    assert spans(rec, "Ship to St. Kitts & Nevis.") == ["St. Kitts & Nevis"]
    assert spans(rec, "Our team in Guinea-Bissau.") == ["Guinea-Bissau"]
    assert spans(rec, "I met Chad Smith in Chad.") == ["Chad"]
    assert spans(rec, "New Guinean art") == []


@pytest.mark.parametrize(("text", "value", "kind"), [
    ("The customer is travelling to Saint Pierre and Miquelon next week.",
     "Saint Pierre and Miquelon", EntityType.LOCATION),
    ("Dear Mx. Rivera, thank you for your patience.", "Mx. Rivera", EntityType.PERSON),
    ("Summarize this complaint from Roy Rodriguez in two sentences.", "Roy Rodriguez",
     EntityType.PERSON),
])
def test_detector_uses_the_lexicons(
    detector: PiiDetector, text: str, value: str, kind: EntityType
) -> None:
    assert {text[e.start:e.end]: e.type for e in detector.detect(text)}.get(value) == kind


@pytest.mark.parametrize("text", [
    "Section 4.2 covers Memory Management.",
    "Write a short poem about Autumn Leaves.",
    "Refund REF-2291 is pending review.",
])
def test_title_case_vocabulary_is_not_a_name(detector: PiiDetector, text: str) -> None:
    assert detector.detect(text) == []
