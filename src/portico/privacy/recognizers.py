"""Presidio recognizers for structured PII: patterns confirmed by checksums and numbering rules.

Each recognizer compiles its own pattern with explicit flags (Presidio's default is
case-insensitive), and a validator turns a regex match into a span or rejects it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

import phonenumbers
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from portico.privacy import _patterns
from portico.privacy._checksums import card_ok, iban_length, iban_ok, ssn_ok
from portico.privacy.entities import EntityType

Span = tuple[int, int]
Validator = Callable[[re.Match[str]], Span | None]


class ValidatedPatternRecognizer(EntityRecognizer):
    """Finds one entity type by regex; a validator confirms each match and may trim it."""

    def __init__(
        self,
        entity: EntityType,
        patterns: Sequence[re.Pattern[str]],
        score: float,
        validator: Validator | None = None,
    ) -> None:
        self._entity = entity
        self._patterns = tuple(patterns)
        self._score = score
        self._validator = validator
        super().__init__(supported_entities=[entity.value], name=f"portico_{entity.value.lower()}")

    def load(self) -> None:
        """Patterns are compiled at construction; nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for pattern in self._patterns:
            for match in pattern.finditer(text):
                span = self._validator(match) if self._validator else match.span()
                if span is not None:
                    results.append(
                        RecognizerResult(self._entity.value, span[0], span[1], self._score)
                    )
        return results


class PhoneRecognizer(EntityRecognizer):
    """Phone numbers that libphonenumber holds valid, in national and international formats."""

    def __init__(self, regions: Sequence[str] = ("US",), score: float = 0.9) -> None:
        self._regions = tuple(regions)
        self._score = score
        super().__init__(supported_entities=[EntityType.PHONE.value], name="portico_phone")

    def load(self) -> None:
        """libphonenumber's metadata loads on first use."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        seen: set[Span] = set()
        results: list[RecognizerResult] = []
        for region in self._regions:
            matcher = phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.VALID
            )
            for match in matcher:
                span = (match.start, match.end)
                if span not in seen:
                    seen.add(span)
                    results.append(
                        RecognizerResult(EntityType.PHONE.value, span[0], span[1], self._score)
                    )
        return results


def _card(match: re.Match[str]) -> Span | None:
    digits = re.sub(r"[ -]", "", match.group(0))
    return match.span() if card_ok(digits) else None


def _iban(match: re.Match[str]) -> Span | None:
    text = match.group(0)
    length = iban_length(text[:2])
    if length is None:
        return None
    kept = 0
    for i, ch in enumerate(text):
        if ch != " ":
            kept += 1
        if kept == length:
            end = i + 1
            following = match.string[match.start() + end : match.start() + end + 1]
            if following.isalnum():
                return None
            if not iban_ok(text[:end].replace(" ", "")):
                return None
            return match.start(), match.start() + end
    return None


def _ssn(match: re.Match[str]) -> Span | None:
    if not ssn_ok(match.group(1), match.group(3), match.group(4)):
        return None
    return match.start(1), match.end(4)


def _cued_name(match: re.Match[str]) -> Span | None:
    # An honorific stays inside the span ("Dr. Patel"); "my name is" / "Dear" stay outside.
    return match.span(1) if match.group(1) else match.span(2)


def _ip(match: re.Match[str]) -> Span | None:
    text = match.group(0).split("%", 1)[0]
    if not any(ch.isalnum() for ch in text):
        return None
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return match.span()


def structured_recognizers(phone_regions: Sequence[str] = ("US",)) -> list[EntityRecognizer]:
    """Every pattern recognizer the detector registers; scores rank them above the NER's 0.85."""
    return [
        ValidatedPatternRecognizer(EntityType.SECRET, _patterns.SECRETS, 1.0),
        ValidatedPatternRecognizer(EntityType.EMAIL, (_patterns.EMAIL,), 1.0),
        ValidatedPatternRecognizer(EntityType.CREDIT_CARD, (_patterns.CARD,), 1.0, _card),
        ValidatedPatternRecognizer(EntityType.IBAN, (_patterns.IBAN,), 1.0, _iban),
        ValidatedPatternRecognizer(
            EntityType.US_SSN, (_patterns.SSN, _patterns.SSN_BARE), 0.95, _ssn
        ),
        ValidatedPatternRecognizer(
            EntityType.IP_ADDRESS, (_patterns.IPV4, _patterns.IPV6), 0.9, _ip
        ),
        ValidatedPatternRecognizer(EntityType.ADDRESS, (_patterns.ADDRESS,), 0.9),
        ValidatedPatternRecognizer(EntityType.PERSON, (_patterns.PERSON_CUE,), 0.86, _cued_name),
        PhoneRecognizer(phone_regions),
    ]
