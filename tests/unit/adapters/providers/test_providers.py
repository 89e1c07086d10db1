"""Every built-in provider spec: registry shape, names, dialects, auth and policy facts."""

from __future__ import annotations

import importlib
import pkgutil
from urllib.parse import urlsplit

import pytest

import portico.adapters.providers as providers_pkg
from portico.adapters.base import AuthScheme, ProviderSpec
from portico.adapters.providers import builtin_providers
from portico.adapters.registry import build_dialects, build_embedding_dialects
from portico.schema.chat import ChatRequest

EXPECTED = {
    "openai", "azure_openai", "anthropic", "gemini", "mistral", "deepseek", "qwen", "groq",
    "together", "openrouter", "ollama", "vllm", "openai_compatible",
}
ENV_KEYS = {
    "openai": "OPENAI_API_KEY", "azure_openai": "AZURE_OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY", "deepseek": "DEEPSEEK_API_KEY",
    "qwen": "DASHSCOPE_API_KEY", "groq": "GROQ_API_KEY", "together": "TOGETHER_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
SPECS = builtin_providers()
CANONICAL_FIELDS = set(ChatRequest.__struct_fields__)


def test_registry_lists_every_vendor_and_is_fresh_per_call() -> None:
    assert set(SPECS) == EXPECTED
    first = builtin_providers()
    first.pop("openai")
    assert "openai" in builtin_providers()


def test_module_name_equals_provider_name() -> None:
    modules = {m.name for m in pkgutil.iter_modules(providers_pkg.__path__)}
    assert modules == EXPECTED
    for name in modules:
        spec = importlib.import_module(f"portico.adapters.providers.{name}").SPEC
        assert isinstance(spec, ProviderSpec) and spec.name == name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spec_facts(name: str) -> None:
    spec = SPECS[name]
    assert spec.env_key == ENV_KEYS.get(name)
    assert spec.doc_url.startswith("https://")
    assert spec.dialect in build_dialects()
    if spec.supports_embeddings:
        assert spec.dialect in build_embedding_dialects()
    if spec.base_url:
        url = urlsplit(spec.base_url)
        assert url.scheme == ("http" if spec.internal else "https")
        assert not spec.base_url.endswith("/")
    else:
        assert name in {"azure_openai", "openai_compatible"}  # config must supply it
    # Reshaping data names only real canonical fields.
    assert set(spec.dropped_fields) <= CANONICAL_FIELDS
    assert {src for src, _ in spec.field_renames} <= CANONICAL_FIELDS
    assert spec.internal == spec.data_policy.self_hosted


def test_self_hosted_specs() -> None:
    for name in ("ollama", "vllm"):
        spec = SPECS[name]
        assert spec.internal and spec.data_policy.self_hosted
        assert not spec.bills_after_disconnect
    assert SPECS["ollama"].base_url == "http://127.0.0.1:11434/v1"
    assert SPECS["ollama"].auth is AuthScheme.NONE


def test_vendor_specifics() -> None:
    anthropic = SPECS["anthropic"]
    assert anthropic.dialect == "anthropic_messages"
    assert anthropic.auth is AuthScheme.X_API_KEY
    assert ("anthropic-version", "2023-06-01") in anthropic.default_headers
    assert not anthropic.supports_embeddings
    assert anthropic.limits.input_tokens_per_minute and anthropic.limits.output_tokens_per_minute
    gemini = SPECS["gemini"]
    assert gemini.dialect == "gemini" and gemini.auth is AuthScheme.GOOGLE_API_KEY
    assert gemini.base_url == "https://generativelanguage.googleapis.com/v1beta"
    assert SPECS["qwen"].base_url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    azure = SPECS["azure_openai"]
    assert azure.auth is AuthScheme.API_KEY_HEADER and "{model}" in azure.chat_path
    assert azure.api_version
    assert SPECS["mistral"].limits.concurrency is not None
    for name in ("openai", "azure_openai", "anthropic", "mistral"):
        assert SPECS[name].data_policy.trains_on_data is False


def test_registry_passes_the_clock_to_dialects_that_stamp_created() -> None:
    dialects = build_dialects(lambda: 123.0)
    assert set(dialects) == {"openai_chat", "anthropic_messages", "gemini"}
    assert all(name == d.name for name, d in dialects.items())
    assert set(build_embedding_dialects()) == {"openai_chat", "gemini"}
