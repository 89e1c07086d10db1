"""Data policies through the whole gateway: sensitive requests reach only compliant
deployments, or fail with a 403 naming the rule; never silently sent elsewhere."""

from __future__ import annotations

from pathlib import Path

import msgspec

from portico.config.model import (
    DeploymentConfig,
    ModelGroupConfig,
    PiiConfig,
    PolicyConfig,
    PolicyRule,
    PorticoConfig,
    ProviderConfig,
)
from portico.store.records import KeySettings
from tests.integration.privacy.conftest import Privacy, Tweak, privacy_gateway
from tests.support.policies import training_split

RULES = [PolicyRule(name="no-training-for-sensitive", data_class="sensitive", no_training=True),
         PolicyRule(name="own-servers-only", data_class="sensitive", self_hosted_only=True)]


def policies(*rules: PolicyRule) -> Tweak:
    def tweak(cfg: PorticoConfig, urls: dict[str, str]) -> PorticoConfig:
        providers = {
            # Same simulator, three deployments with different data-policy overrides.
            **training_split(cfg),
            "onprem": ProviderConfig(type="vllm", base_url=urls["openai"],
                                     keys=cfg.providers["openai"].keys, internal=True),
        }
        models = [*cfg.models,
                  ModelGroupConfig(name="mixed", deployments=[
                      DeploymentConfig(provider="trainer", model="m-trains"),
                      DeploymentConfig(provider="careful", model="m-careful")]),
                  ModelGroupConfig(name="trains-only", deployments=[
                      DeploymentConfig(provider="trainer", model="m-trains")]),
                  ModelGroupConfig(name="with-onprem", deployments=[
                      DeploymentConfig(provider="careful", model="m-careful"),
                      DeploymentConfig(provider="onprem", model="m-onprem")])]
        return msgspec.structs.replace(
            cfg, providers=providers, models=models,
            pii=PiiConfig(mode="detect", use_model=False),
            policy=PolicyConfig(rules=list(rules)))
    return tweak


def ask(model: str, text: str = "hello there") -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 4}


def upstream_models(p: Privacy) -> list[str | None]:
    return [e.model for e in p.sims["openai"].ledger]


async def test_sensitive_goes_only_to_compliant_deployments(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, policies(RULES[0])) as p:
        # Internal (the default): the first deployment takes it, training or not.
        assert (await p.chat(ask("mixed")))[0] == 200
        assert upstream_models(p)[-1] == "m-trains"
        for _ in range(3):
            status, _ = await p.chat(ask("mixed"),
                                     headers={"x-portico-data-class": "sensitive"})
            assert status == 200
            assert upstream_models(p)[-1] == "m-careful"


async def test_no_compliant_deployment_is_a_403_naming_the_rule(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, policies(RULES[0])) as p:
        before = len(p.sims["openai"].ledger)
        status, out = await p.chat(ask("trains-only"),
                                   headers={"x-portico-data-class": "sensitive"})
        assert status == 403
        err = out["error"]
        assert isinstance(err, dict) and err["code"] == "data_policy_violation"
        assert "no-training-for-sensitive" in str(err["message"])
        assert len(p.sims["openai"].ledger) == before   # sent nowhere


async def test_pii_raises_the_class_to_sensitive(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, policies(RULES[0])) as p:
        status, _ = await p.chat(ask("mixed", "mail me at dana@example.org"))
        assert status == 200 and upstream_models(p)[-1] == "m-careful"
        status, out = await p.chat(ask("trains-only", "mail me at dana@example.org"))
        assert status == 403 and "no-training-for-sensitive" in str(out["error"])
        await p.drain()
        events = [e.event for e in await p.gateway.store.list_audit()
                  if e.event.action == "chat.request"]
        assert [e.detail["data_class"] for e in events] == ["sensitive", "sensitive"]
        decisions = events[0].detail["policy"]
        assert isinstance(decisions, list)
        assert decisions[0].startswith("class=sensitive from pii")
        assert any("refused trainer/m-trains" in d for d in decisions)


async def test_key_class_and_self_hosted_rule(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, policies(*RULES)) as p:
        key = await p.new_key(KeySettings(data_class="sensitive"))
        status, _ = await p.chat(ask("with-onprem"), key=key)
        assert status == 200 and upstream_models(p)[-1] == "m-onprem"
        # A header may not lower the key's class.
        status, _ = await p.chat(ask("with-onprem"), key=key,
                                 headers={"x-portico-data-class": "public"})
        assert status == 200 and upstream_models(p)[-1] == "m-onprem"


async def test_invalid_data_class_header_is_a_400(tmp_path: Path) -> None:
    async with privacy_gateway(tmp_path, policies(RULES[0])) as p:
        status, out = await p.chat(ask("mixed"), headers={"x-portico-data-class": "secret"})
        assert status == 400
        assert isinstance(out["error"], dict) and out["error"]["param"] == "x-portico-data-class"
