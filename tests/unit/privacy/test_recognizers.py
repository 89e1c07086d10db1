"""Each structured recognizer through the real detector: what it finds and what it refuses."""

from __future__ import annotations

import pytest

from portico.privacy.detector import PiiDetector
from portico.privacy.entities import EntityType


def found(detector: PiiDetector, text: str) -> list[tuple[EntityType, str]]:
    return [(e.type, text[e.start:e.end]) for e in detector.detect(text)]


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("Charge card 4111 1111 1111 1111 today.", EntityType.CREDIT_CARD, "4111 1111 1111 1111"),
    ("Charge card 2221-0000-0000-0009 today.", EntityType.CREDIT_CARD, "2221-0000-0000-0009"),
    ("Charge card 2720990000000007 today.", EntityType.CREDIT_CARD, "2720990000000007"),
    ("Amex 3782 822463 10005 on file.", EntityType.CREDIT_CARD, "3782 822463 10005"),
    ("Wire to DE89 3704 0044 0532 0130 00 please.", EntityType.IBAN,
     "DE89 3704 0044 0532 0130 00"),
    ("Wire to GB82WEST12345698765432.", EntityType.IBAN, "GB82WEST12345698765432"),
    ("My SSN is 123-45-6789.", EntityType.US_SSN, "123-45-6789"),
    ("ssn: 123456789", EntityType.US_SSN, "123456789"),
    ("Call (415) 555-2671 tonight.", EntityType.PHONE, "(415) 555-2671"),
    ("Call +44 20 7946 0958 tonight.", EntityType.PHONE, "+44 20 7946 0958"),
    ("Mail jane.doe+x@mail.example.co.uk now.", EntityType.EMAIL, "jane.doe+x@mail.example.co.uk"),
    ("Blocked 203.0.113.7 again.", EntityType.IP_ADDRESS, "203.0.113.7"),
    ("Blocked 2001:db8::8a2e:370:7334 again.", EntityType.IP_ADDRESS, "2001:db8::8a2e:370:7334"),
    ("key sk-proj-" + "a1B2" * 12 + " here", EntityType.SECRET, "sk-proj-" + "a1B2" * 12),
    ("key sk-ant-api03-" + "x9Y_" * 10 + " here", EntityType.SECRET, "sk-ant-api03-" + "x9Y_" * 10),
    ("aws AKIAIOSFODNN7EXAMPLE here", EntityType.SECRET, "AKIAIOSFODNN7EXAMPLE"),
    ("gh ghp_" + "A1b2C3d4E5" * 3 + "abcdef here", EntityType.SECRET,
     "ghp_" + "A1b2C3d4E5" * 3 + "abcdef"),
    ("gcp AIza" + "Sy" * 17 + "A here", EntityType.SECRET, "AIza" + "Sy" * 17 + "A"),
    ("slack xoxb-1234567890-abcdefghij here", EntityType.SECRET, "xoxb-1234567890-abcdefghij"),
    ("stripe sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc" + " here", EntityType.SECRET,
     "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N here",
     EntityType.SECRET, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"),
    ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", EntityType.SECRET,
     "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"),
])
def test_structured_positive(
    detector: PiiDetector, text: str, kind: EntityType, value: str
) -> None:
    assert (kind, value) in found(detector, text)


@pytest.mark.parametrize(("text", "kind"), [
    ("Card 4111 1111 1111 1112 declined.", EntityType.CREDIT_CARD),    # Luhn-invalid
    ("Number 1234 5678 9012 3456 here.", EntityType.CREDIT_CARD),
    ("Wire to DE89 3704 0044 0532 0130 01 please.", EntityType.IBAN),   # bad mod-97
    ("SSN 000-12-3456 on the form.", EntityType.US_SSN),
    ("SSN 666-12-3456 on the form.", EntityType.US_SSN),
    ("SSN 912-12-3456 on the form.", EntityType.US_SSN),
    ("SSN 123-00-3456 on the form.", EntityType.US_SSN),
    ("SSN 123-45-0000 on the form.", EntityType.US_SSN),
    ("Ticket 123456789 closed.", EntityType.US_SSN),                    # bare, no cue
    ("Call 555-0000 tonight.", EntityType.PHONE),
    ("Address 999.10.10.10 is not an IP.", EntityType.IP_ADDRESS),
    ("The build took 12:30:45 today.", EntityType.IP_ADDRESS),
    ("key akiaiosfodnn7example here", EntityType.SECRET),               # case matters
    ("key SK-PROJ-" + "A1B2" * 12 + " here", EntityType.SECRET),
    ("Version 8.15.1 shipped on 2024-03-15.", EntityType.PHONE),
])
def test_structured_negative(detector: PiiDetector, text: str, kind: EntityType) -> None:
    assert kind not in {k for k, _ in found(detector, text)}
