"""The bench's Portico configs: the headline endpoints carry non-binding limits on the upstream
key (requests, tokens, concurrency) and a probe group for `check_limits`; `limits=False` none."""

from __future__ import annotations

from pathlib import Path

from bench import targets
from portico.config.loader import parse_config


def test_headline_config_limits_the_upstream_key(tmp_path: Path) -> None:
    text = targets.portico_yaml(tmp_path, 9, "sqlite:///x.db", "redis://127.0.0.1:6379/0",
                                10, 1)
    cfg = parse_config(text)
    limits = cfg.providers["openai"].keys[0].limits
    assert limits is not None
    assert limits.requests_per_minute and limits.tokens_per_minute and limits.concurrency
    assert cfg.redis.url == "redis://127.0.0.1:6379/0"
    probe = cfg.providers["probe"].keys[0].limits
    assert probe is not None and probe.requests_per_minute == 1
    assert {m.name for m in cfg.models} == {targets.MODEL, targets.PROBE_MODEL}


def test_no_limits_variant_has_none(tmp_path: Path) -> None:
    cfg = parse_config(targets.portico_yaml(tmp_path, 9, "sqlite:///x.db", None, 10, 1,
                                            limits=False))
    assert all(k.limits is None for p in cfg.providers.values() for k in p.keys)
    assert [m.name for m in cfg.models] == [targets.MODEL]
