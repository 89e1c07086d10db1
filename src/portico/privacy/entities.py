"""What the PII detector reports: a closed set of entity types and character spans."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    """Each value is also the stem of the placeholder (`<PERSON_1>`) and the audit count key."""

    PERSON = "PERSON"
    LOCATION = "LOCATION"
    ADDRESS = "ADDRESS"
    ORGANIZATION = "ORGANIZATION"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CREDIT_CARD = "CREDIT_CARD"
    IBAN = "IBAN"
    US_SSN = "US_SSN"
    IP_ADDRESS = "IP_ADDRESS"
    SECRET = "SECRET"  # noqa: S105 - a type name, not a password


MODEL_TYPES = frozenset({EntityType.PERSON, EntityType.LOCATION, EntityType.ORGANIZATION})


@dataclass(frozen=True, slots=True)
class Entity:
    """A detected span `text[start:end]`; it never carries the value itself."""

    type: EntityType
    start: int
    end: int
    score: float
