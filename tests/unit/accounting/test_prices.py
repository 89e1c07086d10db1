"""PriceCatalog: dated lookups, exact micro-USD cost arithmetic, worst case, overrides."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from portico.accounting import PriceCatalog, PriceEntry, UsageCounts
from portico.schema.response import PromptTokensDetails, Usage

DAY_MS = 86_400_000
CHANGE = dt.date(2025, 6, 1)
CHANGE_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z


BASE = PriceEntry(provider="openai", model="m", input=2_500_000, output=10_000_000)


def entry(**kw: object) -> PriceEntry:
    return msgspec.structs.replace(BASE, **kw)


@pytest.fixture
def catalog() -> PriceCatalog:
    return PriceCatalog([
        entry(effective_from=dt.date(2024, 1, 1)),
        entry(effective_from=CHANGE, input=1_250_000, output=5_000_000),
        entry(provider="anthropic", model="c", input=3_000_000, output=15_000_000,
              cache_read=300_000, cache_write=3_750_000, batch_input=1_500_000,
              batch_output=7_500_000, batch_cache_read=150_000, batch_cache_write=1_875_000,
              effective_from=dt.date(2024, 1, 1)),
    ])


def test_effective_from_ms_is_utc_midnight() -> None:
    assert entry(effective_from=CHANGE).effective_from_ms == CHANGE_MS


def test_lookup_picks_entry_in_force(catalog: PriceCatalog) -> None:
    before = catalog.lookup("openai", "m", CHANGE_MS - 1)
    at = catalog.lookup("openai", "m", CHANGE_MS)
    after = catalog.lookup("openai", "m", CHANGE_MS + 30 * DAY_MS)
    assert before is not None and before.input == 2_500_000
    assert at is not None and at.input == 1_250_000
    assert after is not None and after.output == 5_000_000


def test_lookup_before_first_entry_or_unknown_is_none(catalog: PriceCatalog) -> None:
    assert catalog.lookup("openai", "m", 0) is None
    assert catalog.lookup("openai", "nope", CHANGE_MS) is None
    assert catalog.lookup("azure_openai", "m", CHANGE_MS) is None


def test_entry_order_does_not_matter() -> None:
    a = entry(effective_from=dt.date(2024, 1, 1))
    b = entry(effective_from=CHANGE, input=1)
    for cat in (PriceCatalog([a, b]), PriceCatalog([b, a])):
        found = cat.lookup("openai", "m", CHANGE_MS)
        assert found is not None and found.input == 1


def test_cost_plain() -> None:
    # 1234 in at $2.50/M = 3085 micro; 567 out at $10/M = 5670 micro.
    cat = PriceCatalog([entry()])
    assert cat.cost(entry(), UsageCounts(1234, 567)) == 8755


def test_cost_cached_not_billed_twice(catalog: PriceCatalog) -> None:
    p = catalog.lookup("anthropic", "c", CHANGE_MS)
    assert p is not None
    # prompt 10000 = 6000 uncached + 3000 cache read + 1000 cache write
    usage = UsageCounts(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=3_000,
                        cache_write_tokens=1_000)
    # 6000*3 + 3000*0.3 + 1000*3.75 + 2000*15 = 18000 + 900 + 3750 + 30000
    assert catalog.cost(p, usage) == 52_650


def test_cost_batch_rates(catalog: PriceCatalog) -> None:
    p = catalog.lookup("anthropic", "c", CHANGE_MS)
    assert p is not None
    usage = UsageCounts(10_000, 2_000, cached_tokens=3_000, cache_write_tokens=1_000)
    # 6000*1.5 + 3000*0.15 + 1000*1.875 + 2000*7.5 = 9000 + 450 + 1875 + 15000
    assert catalog.cost(p, usage, batch=True) == 26_325


def test_batch_without_batch_prices_falls_back_to_standard(catalog: PriceCatalog) -> None:
    p = entry()
    u = UsageCounts(1000, 1000)
    assert catalog.cost(p, u, batch=True) == catalog.cost(p, u) == 12_500


def test_missing_cache_rates_bill_at_input_price(catalog: PriceCatalog) -> None:
    p = entry()
    assert catalog.cost(p, UsageCounts(1000, 0, cached_tokens=400, cache_write_tokens=100)) \
        == 2_500


def test_rounding_half_up_once_at_the_end(catalog: PriceCatalog) -> None:
    p = entry(input=1_000_000, output=1_000_000)  # $1/M: one token = 1 micro-USD
    half = entry(input=500_000, output=500_000)   # $0.50/M: one token = 0.5 micro-USD
    assert catalog.cost(p, UsageCounts(3, 4)) == 7
    assert catalog.cost(half, UsageCounts(1, 0)) == 1        # 0.5 rounds up
    assert catalog.cost(half, UsageCounts(1, 1)) == 1        # 0.5 + 0.5, not 1 + 1
    tiny = entry(input=400_000, output=0)                    # 0.4 micro per token
    assert catalog.cost(tiny, UsageCounts(1, 0)) == 0
    assert catalog.cost(tiny, UsageCounts(2, 0)) == 1        # 0.8
    assert catalog.cost(tiny, UsageCounts(5, 0)) == 2        # 2.0 exactly


def test_inconsistent_cached_counts_never_go_negative(catalog: PriceCatalog) -> None:
    p = entry(cache_read=1_000_000)
    # cached > prompt (a provider quirk): uncached clamps at zero, cached still billed.
    assert catalog.cost(p, UsageCounts(10, 0, cached_tokens=20)) == 20


def test_usage_counts_from_usage_and_validation() -> None:
    u = Usage(prompt_tokens=100, completion_tokens=7, total_tokens=107,
              prompt_tokens_details=PromptTokensDetails(cached_tokens=40,
                                                        cache_creation_tokens=10))
    assert UsageCounts.from_usage(u) == UsageCounts(100, 7, 40, 10)
    with pytest.raises(ValueError, match="negative"):
        UsageCounts(-1, 0)


def test_worst_case_rounds_up_and_uses_dearest_input_rate(catalog: PriceCatalog) -> None:
    p = entry(input=1_000_000, output=2_000_000)
    assert catalog.worst_case(p, 1000, 500) == 2000
    assert catalog.worst_case(entry(input=1, output=0), 1, 0) == 1   # 1e-6 micro rounds up
    anth = catalog.lookup("anthropic", "c", CHANGE_MS)
    assert anth is not None
    # input at the cache-write rate ($3.75/M), output at $15/M
    assert catalog.worst_case(anth, 1000, 1000) == 3750 + 15000
    with pytest.raises(ValueError):
        catalog.worst_case(p, -1, 0)


def test_worst_case_bounds_actual_cost(catalog: PriceCatalog) -> None:
    anth = catalog.lookup("anthropic", "c", CHANGE_MS)
    assert anth is not None
    for cached, write, out in ((0, 0, 100), (500, 0, 100), (0, 900, 100), (300, 300, 0)):
        actual = catalog.cost(anth, UsageCounts(1000, out, cached, write))
        assert actual <= catalog.worst_case(anth, 1000, 100)


def test_overrides_replace_whole_history(catalog: PriceCatalog) -> None:
    cheap = entry(input=1, output=2)  # effective since 1970
    cat = catalog.with_overrides([cheap])
    for at in (CHANGE_MS - 1, CHANGE_MS + DAY_MS):
        assert cat.lookup("openai", "m", at) == cheap
    assert cat.lookup("anthropic", "c", CHANGE_MS) == catalog.lookup("anthropic", "c", CHANGE_MS)
    # The original is untouched.
    original = catalog.lookup("openai", "m", CHANGE_MS)
    assert original is not None and original.input == 1_250_000


def test_override_adds_new_model(catalog: PriceCatalog) -> None:
    cat = catalog.with_overrides([entry(provider="groq", model="x")])
    assert cat.lookup("groq", "x", 0) is not None
    assert catalog.lookup("groq", "x", 0) is None


def test_missing_models(catalog: PriceCatalog) -> None:
    wanted = [("openai", "m"), ("openai", "zzz"), ("anthropic", "c"), ("openai", "zzz"),
              ("mistral", "m")]
    assert catalog.missing(wanted) == [("openai", "zzz"), ("mistral", "m")]
    # Priced only from 2024: missing at the epoch.
    assert catalog.missing([("openai", "m")], at_ms=0) == [("openai", "m")]
    assert catalog.missing([("openai", "m")], at_ms=CHANGE_MS) == []


def test_negative_rates_rejected_by_schema() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"provider": "p", "model": "m", "input": -1, "output": 0},
                        type=PriceEntry)


def test_builtin_catalog_known_prices() -> None:
    cat = PriceCatalog.load_builtin()
    now = CHANGE_MS
    gpt4o = cat.lookup("openai", "gpt-4o", now)
    assert gpt4o is not None
    assert (gpt4o.input, gpt4o.output, gpt4o.cache_read) == (2_500_000, 10_000_000, 1_250_000)
    assert (gpt4o.batch_input, gpt4o.batch_output) == (1_250_000, 5_000_000)
    assert gpt4o.context_window == 128_000 and gpt4o.max_output_tokens == 16_384
    sonnet = cat.lookup("anthropic", "claude-sonnet-4-5", now)
    assert sonnet is not None
    assert (sonnet.input, sonnet.output, sonnet.cache_read, sonnet.cache_write) == (
        3_000_000, 15_000_000, 300_000, 3_750_000)
    expected = {"openai", "azure_openai", "anthropic", "gemini", "mistral", "deepseek", "qwen",
                "groq", "together"}
    assert expected <= cat.providers()
    # 1M input tokens of gpt-4o cost exactly $2.50.
    assert cat.cost(gpt4o, UsageCounts(1_000_000, 0)) == 2_500_000
