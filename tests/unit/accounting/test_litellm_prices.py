"""LiteLLM price-map import: exact conversion, provider mapping, the shipped catalog in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portico.accounting import PriceCatalog, PriceEntry, import_litellm
from portico.accounting.litellm_prices import PROVIDER_MAP, micros_per_mtok

REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / \
    "litellm-model-prices.json"
# The reference copy (LiteLLM 1.108.7) lists no OpenRouter models.
ABSENT_IN_REFERENCE = {"openrouter"}


@pytest.fixture(scope="module")
def imported() -> list[PriceEntry]:
    if not REFERENCE.exists():
        raise FileNotFoundError(f"reference price map missing at {REFERENCE}")
    return import_litellm(REFERENCE)


@pytest.mark.parametrize(("usd", "micros"), [
    (2.5e-06, 2_500_000), (1.875e-07, 187_500), (3e-07, 300_000), (1.1e-06, 1_100_000),
    (0.0, 0), (7e-08, 70_000), (1e-05, 10_000_000), (6e-06, 6_000_000),
])
def test_micros_per_mtok_exact(usd: float, micros: int) -> None:
    assert micros_per_mtok(usd) == micros


def test_float_error_does_not_leak() -> None:
    # In float, 1.2e-07 * 1e12 is 119999.99999999999 (int() would give 119999).
    assert int(1.2e-07 * 1e12) == 119_999
    assert micros_per_mtok(1.2e-07) == 120_000


def test_every_supported_provider_imported(imported: list[PriceEntry]) -> None:
    providers = {e.provider for e in imported}
    expected = {portico for _, portico in PROVIDER_MAP} - ABSENT_IN_REFERENCE
    assert providers == expected
    for p in expected:
        assert sum(e.provider == p for e in imported) >= 5


def test_model_names_lose_litellm_prefix(imported: list[PriceEntry]) -> None:
    names = {(e.provider, e.model) for e in imported}
    assert ("gemini", "gemini-2.5-pro") in names
    assert ("openai", "gpt-4o") in names
    assert ("azure_openai", "gpt-4o") in names
    assert not any(m.startswith(("gemini/", "azure/", "dashscope/", "together_ai/", "groq/"))
                   for _, m in names)
    assert len(names) == len(imported)  # one entry per (provider, model)


def test_values_match_reference(imported: list[PriceEntry]) -> None:
    raw = json.loads(REFERENCE.read_text())
    by_key = {(e.provider, e.model): e for e in imported}
    src = raw["claude-sonnet-4-5"]
    e = by_key[("anthropic", "claude-sonnet-4-5")]
    assert e.input == round(src["input_cost_per_token"] * 1e12)
    assert e.cache_write == 3_750_000 and e.batch_cache_read == 150_000
    assert e.context_window == src["max_input_tokens"]
    assert e.max_output_tokens == src["max_output_tokens"]


def test_non_token_modes_and_unpriced_skipped(tmp_path: Path) -> None:
    src = tmp_path / "p.json"
    src.write_text(json.dumps({
        "sample_spec": {"max_tokens": "a description", "litellm_provider": "openai"},
        "dall-e-3": {"litellm_provider": "openai", "mode": "image_generation",
                     "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
        "no-output": {"litellm_provider": "openai", "mode": "chat",
                      "input_cost_per_token": 1e-06},
        "emb": {"litellm_provider": "openai", "mode": "embedding",
                "input_cost_per_token": 2e-08},
        "other/x": {"litellm_provider": "bedrock", "mode": "chat",
                    "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06},
        "deepseek-chat": {"litellm_provider": "deepseek", "mode": "chat",
                          "input_cost_per_token": 9e-06, "output_cost_per_token": 9e-06},
        "deepseek/deepseek-chat": {"litellm_provider": "deepseek", "mode": "chat",
                                   "input_cost_per_token": 2.8e-07,
                                   "output_cost_per_token": 4.2e-07},
    }))
    got = {(e.provider, e.model): e for e in import_litellm(src)}
    assert set(got) == {("openai", "emb"), ("deepseek", "deepseek-chat")}
    assert got[("openai", "emb")].output == 0 and got[("openai", "emb")].input == 20_000
    assert got[("deepseek", "deepseek-chat")].input == 280_000  # the prefixed key wins


def test_shipped_catalog_is_generated_from_reference(imported: list[PriceEntry]) -> None:
    builtin = PriceCatalog.load_builtin()
    assert sorted(builtin.entries, key=lambda e: (e.provider, e.model)) == \
        sorted(imported, key=lambda e: (e.provider, e.model))
