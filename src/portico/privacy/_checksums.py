"""Checksums and numbering rules that turn a digit-shaped match into a validated identifier."""

from __future__ import annotations

# (first digits low, high, accepted lengths): every current card range we know of; a
# number must fall in one and pass Luhn. Includes Mastercard's 2-series (2221-2720).
_CARD_RANGES: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("4", "4", frozenset({13, 16, 19})),                          # Visa, Elo/Visa co-brands
    ("51", "55", frozenset({16})),                                # Mastercard
    ("2221", "2720", frozenset({16})),                            # Mastercard 2-series
    ("34", "34", frozenset({15})),                                # American Express
    ("37", "37", frozenset({15})),
    ("6011", "6011", frozenset(range(16, 20))),                   # Discover
    ("644", "649", frozenset(range(16, 20))),
    ("65", "65", frozenset(range(16, 20))),
    ("622126", "622925", frozenset(range(16, 20))),
    ("300", "305", frozenset(range(14, 20))),                     # Diners Club
    ("36", "36", frozenset(range(14, 20))),
    ("38", "39", frozenset(range(14, 20))),
    ("3528", "3589", frozenset(range(16, 20))),                   # JCB
    ("62", "62", frozenset(range(16, 20))),                       # UnionPay
    ("8100", "8171", frozenset(range(16, 20))),
    ("2200", "2204", frozenset(range(16, 20))),                   # Mir
    ("50", "50", frozenset(range(12, 20))),                       # Maestro, Dankort, Verve
    ("56", "69", frozenset(range(12, 20))),                       # Maestro, RuPay, Troy...
    ("9792", "9792", frozenset({16})),                            # Troy
    ("1", "1", frozenset({15})),                                  # UATP
)

# ISO 13616 registry: country code -> IBAN length.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_ok(digits: str) -> bool:
    """A known brand range and length, and a valid Luhn check digit."""
    if not digits.isdigit():
        return False
    for low, high, lengths in _CARD_RANGES:
        head = digits[: len(low)]
        if len(digits) in lengths and low <= head <= high:
            return luhn_ok(digits)
    return False


def iban_length(country: str) -> int | None:
    return _IBAN_LENGTHS.get(country)


def iban_ok(compact: str) -> bool:
    """ISO 7064 mod-97 on an IBAN without spaces, with the country's registered length."""
    if len(compact) != _IBAN_LENGTHS.get(compact[:2], -1) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """SSA rules: no area 000, 666 or 9xx; no group 00; no serial 0000."""
    return (
        area not in ("000", "666")
        and not area.startswith("9")
        and group != "00"
        and serial != "0000"
    )
