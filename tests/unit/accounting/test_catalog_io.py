"""User catalog files and the functions behind `portico prices import` / `show`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from portico.accounting import (
    PriceCatalog,
    PriceEntry,
    UnknownModel,
    import_prices,
    read_catalog,
    show_price,
    write_catalog,
)

E1 = PriceEntry(provider="openai", model="gpt-x", input=2_500_000, output=10_000_000,
                cache_read=1_250_000, effective_from=dt.date(2025, 1, 1))
E2 = PriceEntry(provider="openai", model="gpt-x", input=1_000_000, output=4_000_000,
                effective_from=dt.date(2025, 6, 1))
E3 = PriceEntry(provider="together", model="meta-llama/Llama-3-8b", input=180_000,
                output=180_000, context_window=8192)


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "prices.json"
    write_catalog(path, [E2, E3, E1], source="test")
    assert read_catalog(path) == [E1, E2, E3]
    doc = json.loads(path.read_text())
    assert doc["format"] == 1 and doc["source"] == "test"
    assert not list(path.parent.glob("*.tmp"))


def test_yaml_catalog(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "entries:\n"
        "  - {provider: openai, model: gpt-x, input: 2500000, output: 10000000,"
        " effective_from: '2025-01-01'}\n"
    )
    [e] = read_catalog(path)
    assert e.input == 2_500_000 and e.effective_from == dt.date(2025, 1, 1)


def test_unknown_field_in_catalog_rejected(tmp_path: Path) -> None:
    import msgspec

    path = tmp_path / "prices.json"
    path.write_text('{"entries": [{"provider": "p", "model": "m", "input": 1, "output": 1,'
                    ' "inptu": 3}]}')
    with pytest.raises(msgspec.ValidationError):
        read_catalog(path)


def test_import_prices_writes_user_catalog(tmp_path: Path) -> None:
    src = tmp_path / "litellm.json"
    src.write_text(json.dumps({
        "gpt-x": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
                  "output_cost_per_token": 1e-05, "max_input_tokens": 128000},
        "gemini/g": {"litellm_provider": "gemini", "mode": "chat",
                     "input_cost_per_token": 3e-07, "output_cost_per_token": 2.5e-06},
    }))
    dest = tmp_path / "out.json"
    assert import_prices(src, dest) == 2
    cat = PriceCatalog.load_builtin().with_overrides(read_catalog(dest))
    got = cat.lookup("gemini", "g", 0)
    assert got is not None and (got.input, got.output) == (300_000, 2_500_000)


def test_show_price_provider_model_and_bare() -> None:
    cat = PriceCatalog([E1, E2, E3, PriceEntry(provider="azure_openai", model="gpt-x",
                                                 input=1, output=2)])
    text = show_price(cat, "openai/gpt-x")
    assert "openai/gpt-x  (from 2025-01-01)" in text
    assert "openai/gpt-x  (from 2025-06-01)" in text
    assert "input $2.50  output $10.00" in text and "cache read $1.25" in text
    assert "azure_openai" not in text
    bare = show_price(cat, "gpt-x")
    assert "azure_openai/gpt-x" in bare and "input $0.000001" in bare
    # A bare model name that itself contains "/".
    llama = show_price(cat, "meta-llama/Llama-3-8b")
    assert "together/meta-llama/Llama-3-8b" in llama and "input $0.18" in llama
    assert "context window 8192" in llama
    with pytest.raises(UnknownModel):
        show_price(cat, "nope")
