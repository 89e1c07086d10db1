"""Regenerates src/portico/privacy/_lexicon.json from data in installed packages (no download).

First and last names: Faker's en_US person provider (US Census / SSA frequency lists).
Region names: libphonenumber's English display names for every region it supports.
Run `.venv/bin/python bench/pii/make_lexicon.py` after upgrading either package.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import phonenumbers
from faker.providers.person.en_US import Provider as Person
from phonenumbers import geocoder

OUT = Path(__file__).resolve().parents[2] / "src" / "portico" / "privacy" / "_lexicon.json"


def main() -> None:
    first = sorted(set(Person.first_names_female) | set(Person.first_names_male))
    last = sorted(set(Person.last_names))
    # The public geocoder API wants a phone number; the display-name lookup is what it calls.
    regions = sorted(
        {name for r in phonenumbers.SUPPORTED_REGIONS
         if (name := geocoder._region_display_name(r, "en", None, None))}
    )
    data = {
        "source": f"faker {metadata.version('faker')} en_US person provider; "
                  f"phonenumbers {metadata.version('phonenumbers')} English region names",
        "first_names": first, "last_names": last, "regions": regions,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}: {len(first)} first, {len(last)} last names, {len(regions)} regions")


if __name__ == "__main__":
    main()
