"""The SSRF corpus: every private, local or metadata spelling of an upstream URL is refused at
config load (naming the setting's path) unless the provider is marked internal."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import pytest

from portico.adapters.providers import builtin_providers
from portico.config.model import PorticoConfig, ProviderConfig
from portico.config.secrets import ConfigError
from portico.config.urls import (
    blocked_reason,
    check_upstream_url,
    forbidden_reason,
    literal_address,
    resolved_address,
)
from portico.routing.catalog import build_catalog

PATH = "providers.x.base_url"

# Hostnames as a fake DNS answers them: public-looking names that resolve somewhere private.
FAKE_DNS: dict[str, list[str]] = {
    "api.example.com": ["93.184.216.34"],
    "dual.example.com": ["93.184.216.34", "2606:2800:220:1::1"],
    "rebind.example.com": ["93.184.216.34", "10.0.0.5"],       # one bad answer is enough
    "internal-lb.example.com": ["192.168.1.20"],
    "v6private.example.com": ["fd12:3456::1"],
    "cgnat.example.com": ["100.100.1.1"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "evil.com": ["93.184.216.35"],
    "xn--bcher-kva.example": ["93.184.216.36"],
}


def fake_resolver(host: str, port: int) -> Sequence[str]:
    try:
        return FAKE_DNS[host]
    except KeyError:
        raise OSError(f"no such host {host}") from None


# Address forms: refused for ordinary providers, accepted when the provider is internal.
ADDRESS_CORPUS = [
    "http://127.0.0.1/v1", "http://127.0.0.1:8080/v1", "https://127.1/", "http://127.0.1.3/",
    "http://[::1]/v1", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/", "http://[::127.0.0.1]/",
    "http://2130706433/", "http://0x7f000001/", "http://017700000001/", "http://0177.0.0.1/",
    "http://0x7f.0x0.0x0.0x1/", "http://127.000.000.001/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
    "http://[::ffff:a9fe:a9fe]/", "http://2852039166/", "http://169.254.170.2/v2/credentials",
    "http://metadata.google.internal/computeMetadata/v1/", "http://metadata.google.internal./",
    "http://metadata/", "http://METADATA.GOOGLE.INTERNAL/", "http://100.100.100.200/",
    "http://100.64.0.1/", "http://100.127.255.254/", "http://10.0.0.1/", "http://10.255.255.255/",
    "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.0.1/", "http://192.168.1.1:3000/",
    "http://[fc00::1]/", "http://[fdff:ffff::1]/", "http://[fe80::1]/", "http://[febf::1]/",
    "http://0.0.0.0/", "http://0/", "http://[::]/", "http://224.0.0.1/", "http://[ff02::1]/",
    "http://255.255.255.255/", "http://localhost/", "http://localhost./", "http://LocalHost/",
    "http://foo.localhost/", "http://printer.local/", "http://svc.internal/",
    "http://[2002:7f00:1::]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[fec0::1]/",
    "http://198.18.0.1/", "http://192.0.0.192/", "http://internal-lb.example.com/",
    "http://rebind.example.com/", "http://v6private.example.com/", "http://cgnat.example.com/",
    "http://mapped.example.com/",
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",  # full-width
    "http://\u2460\u2461\u2466.0.0.1/",  # circled digits
]

# Structural tricks: refused for every provider, internal or not.
STRUCTURAL_CORPUS = [
    "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/", "dict://x:11211/",
    "ldap://example.com/", "jar:http://example.com!/", "javascript:alert(1)", "//example.com/",
    "example.com/v1", "http:///v1", "http://evil.com@127.0.0.1/", "http://user:pass@api.example.com/",
    "http://api.example.com@evil.com/", "http://127.0.0.1#@api.example.com/",
    "http://%31%32%37.0.0.1/", "http://127.0.0.1%2f@api.example.com/", "http://[::1%25eth0]/",
    "http://api.example.com\\@127.0.0.1/", "http://api.example.com /", "http://api.exa\tmple.com/",
    "http://api.example.com\r\nX-Injected: 1/", "http://api.example.com:99999/",
    "http://api.example.com:-1/", "http://a..b/", "http://-bad-.example.com/", "http://[::1/",
    "http:// /",
]


@pytest.mark.parametrize("url", ADDRESS_CORPUS)
def test_address_forms_refused_unless_internal(url: str) -> None:
    with pytest.raises(ConfigError) as exc:
        check_upstream_url(url, PATH, internal=False, resolve=fake_resolver)
    assert exc.value.path == PATH
    check_upstream_url(url, PATH, internal=True, resolve=fake_resolver)


@pytest.mark.parametrize("url", STRUCTURAL_CORPUS)
@pytest.mark.parametrize("internal", [False, True])
def test_structural_tricks_always_refused(url: str, internal: bool) -> None:
    with pytest.raises(ConfigError) as exc:
        check_upstream_url(url, PATH, internal=internal, resolve=fake_resolver)
    assert exc.value.path == PATH


def test_corpus_is_broad() -> None:
    assert len(ADDRESS_CORPUS) + len(STRUCTURAL_CORPUS) >= 80


@pytest.mark.parametrize("url", [
    "https://api.example.com/v1", "https://dual.example.com/", "https://API.Example.COM./v1",
    "https://93.184.216.34/v1", "https://[2606:2800:220:1::1]/", "https://evil.com/",
    "https://bücher.example/", "http://api.example.com:8443/x",
])
def test_public_urls_accepted(url: str) -> None:
    check_upstream_url(url, PATH, internal=False, resolve=fake_resolver)


def test_unresolvable_host_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="does not resolve"):
        check_upstream_url("https://nowhere.example.com/", PATH, internal=False,
                           resolve=fake_resolver)


def test_numeric_forms_decode_like_a_resolver() -> None:
    for form in ("2130706433", "0x7f000001", "017700000001", "127.1", "0177.0.0.1"):
        assert str(literal_address(form)) == "127.0.0.1"
    assert literal_address("api.example.com") is None
    assert literal_address("deadbeef") is None


def test_reasons_name_the_range() -> None:
    import ipaddress
    assert "metadata" in (forbidden_reason(ipaddress.ip_address("169.254.169.254")) or "")
    assert "CGNAT" in (forbidden_reason(ipaddress.ip_address("100.64.0.1")) or "")
    assert "embedded" in (forbidden_reason(ipaddress.ip_address("::ffff:10.0.0.1")) or "")
    assert forbidden_reason(ipaddress.ip_address("8.8.8.8")) is None


def test_connect_time_check_refuses_what_load_time_refuses() -> None:
    """blocked_reason (used by the upstream resolver at connect time) agrees with the load-time
    check on every address the corpus spells or the fake DNS answers."""
    literals = []
    for url in ADDRESS_CORPUS:
        host = urlsplit(url).hostname or ""
        addr = literal_address(host.strip("[]"))
        if addr is not None:
            literals.append(str(addr))
    answers = [a for name, addrs in FAKE_DNS.items() for a in addrs]
    assert len(literals) >= 30
    for text in literals:
        assert blocked_reason(text) is not None, text
    for text in answers:
        refused = blocked_reason(text) is not None
        assert refused == (forbidden_reason(resolved_address(text)) is not None)
    assert blocked_reason("fe80::1%eth0") is not None
    assert blocked_reason("no-address") == "not an IP address"
    assert blocked_reason("93.184.216.34") is None and blocked_reason("2606:2800:220:1::1") is None


def _config(base_url: str, internal: bool = False, type_: str = "openai") -> PorticoConfig:
    return PorticoConfig(providers={"x": ProviderConfig(type=type_, base_url=base_url,
                                                        internal=internal)})


def test_catalog_load_fails_naming_the_path() -> None:
    with pytest.raises(ConfigError) as exc:
        build_catalog(_config("http://169.254.169.254/"), builtin_providers(),
                      resolve=fake_resolver)
    assert exc.value.path == PATH
    assert "providers.x.base_url" in str(exc.value)


def test_catalog_accepts_internal_and_self_hosted_specs() -> None:
    build_catalog(_config("http://10.1.2.3:8000/v1", internal=True), builtin_providers(),
                  resolve=fake_resolver)
    # vLLM and Ollama specs are internal by nature.
    build_catalog(_config("http://10.1.2.3:8000/v1", type_="vllm"), builtin_providers(),
                  resolve=fake_resolver)


def test_catalog_resolves_admin_urls_only() -> None:
    calls: list[str] = []

    def spy(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return fake_resolver(host, port)

    build_catalog(PorticoConfig(providers={"openai": ProviderConfig()}), builtin_providers(),
                  resolve=spy)
    assert calls == []                      # built-in vendor URL: no DNS at start
    build_catalog(_config("https://api.example.com/v1"), builtin_providers(), resolve=spy)
    assert calls == ["api.example.com"]
