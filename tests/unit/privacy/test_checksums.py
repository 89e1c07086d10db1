"""Luhn with brand ranges, IBAN mod-97 and SSN numbering rules."""

from __future__ import annotations

import pytest

from portico.privacy._checksums import card_ok, iban_ok, luhn_ok, ssn_ok


def _with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@pytest.mark.parametrize("body", [
    "411111111111111",      # Visa 16
    "422222222222",         # Visa 13
    "510000000000000",      # Mastercard 51
    "555555555555444",      # Mastercard 55
    "222100000000000",      # Mastercard 2-series, low end
    "272099999999999",      # Mastercard 2-series, high end
    "37828224631000",       # Amex 15
    "601111111111111",      # Discover
    "3056930902590",        # Diners 14
    "353011133330000",      # JCB
    "620000000000000",      # UnionPay 16
    "220000000000000",      # Mir
    "675900000000000",      # Maestro
])
def test_cards_of_every_brand_pass(body: str) -> None:
    assert card_ok(_with_check_digit(body))


def test_luhn_invalid_and_unknown_ranges_fail() -> None:
    good = _with_check_digit("411111111111111")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not card_ok(bad)
    assert not card_ok(_with_check_digit("272100000000000"))   # just past the 2-series
    assert not card_ok(_with_check_digit("222000000000000"))   # just before it
    assert not card_ok(_with_check_digit("4111111111111"[:-1] + "11"))  # Visa of length 14


def test_iban_checksum() -> None:
    assert iban_ok("DE89370400440532013000")
    assert iban_ok("GB82WEST12345698765432")
    assert not iban_ok("DE89370400440532013001")    # bad checksum
    assert not iban_ok("DE8937040044053201300")     # wrong length for DE
    assert not iban_ok("ZZ89370400440532013000")    # unknown country


@pytest.mark.parametrize(("area", "group", "serial", "ok"), [
    ("123", "45", "6789", True),
    ("000", "45", "6789", False),
    ("666", "45", "6789", False),
    ("912", "45", "6789", False),
    ("123", "00", "6789", False),
    ("123", "45", "0000", False),
])
def test_ssn_rules(area: str, group: str, serial: str, ok: bool) -> None:
    assert ssn_ok(area, group, serial) is ok
