"""The connect-time resolver guard: every blocked form the config-load check covers is refused
when a non-internal host resolves to it at connect time, including after a public first answer
(DNS rebinding); internal hosts pass; public answers pass through unchanged."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from portico.upstream.address_guard import AddressRefused, GuardedResolver, host_key, hosts_of

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1::1"

# Every blocked range of config/urls.py, as a resolver would answer it at connect time.
BLOCKED = {
    # IPv4
    "10.0.0.5": "private", "172.16.3.4": "private", "192.168.1.20": "private",
    "127.0.0.1": "loopback", "127.8.9.10": "loopback",
    "169.254.1.1": "link-local",
    "100.64.0.1": "CGNAT", "100.127.255.254": "CGNAT",
    "169.254.169.254": "metadata", "169.254.170.2": "metadata", "100.100.100.200": "metadata",
    "192.0.0.192": "metadata",
    "0.0.0.0": "unspecified", "224.0.0.1": "multicast", "198.18.0.1": "private",
    # IPv6
    "::1": "loopback", "::": "unspecified",
    "fc00::1": "private", "fd12:3456::1": "private",          # unique-local
    "fe80::1": "link-local", "fe80::1%eth0": "link-local", "febf::1": "link-local",
    "fd00:ec2::254": "metadata", "fec0::1": "site-local", "ff02::1": "multicast",
    # IPv4 inside IPv6: mapped, compatible, 6to4, NAT64, Teredo
    "::ffff:127.0.0.1": "loopback", "::ffff:169.254.169.254": "metadata",
    "::ffff:10.1.2.3": "private", "::7f00:1": "loopback",
    "2002:7f00:1::": "loopback", "2002:a9fe:a9fe::1": "metadata", "2002:0a00:0001::": "private",
    "64:ff9b::a9fe:a9fe": "metadata", "64:ff9b::7f00:1": "loopback", "64:ff9b::a00:5": "private",
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "loopback",
    # Not an address at all
    "not-an-ip": "not an IP address",
}


def result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(hostname=host, host=address, port=port, family=family, proto=0,
                         flags=socket.AI_NUMERICHOST)


class FakeDns(AbstractResolver):
    """Answers each host from a script, one answer per call; the last answer repeats."""

    def __init__(self, script: dict[str, Sequence[Sequence[str]]]) -> None:
        self.script = script
        self.calls: list[str] = []
        self.closed = False

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = self.script.get(host)
        if not answers:
            raise OSError(f"no such host {host}")
        n = sum(1 for h in self.calls if h == host)
        self.calls.append(host)
        return [result(host, a, port) for a in answers[min(n, len(answers) - 1)]]

    async def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("address", sorted(BLOCKED))
async def test_every_blocked_form_is_refused(address: str) -> None:
    guard = GuardedResolver((), FakeDns({"api.example.com": [[address]]}))
    with pytest.raises(AddressRefused) as exc:
        await guard.resolve("api.example.com", 443)
    assert exc.value.address == address
    assert exc.value.host == "api.example.com"
    assert BLOCKED[address] in exc.value.reason
    assert isinstance(exc.value, OSError)     # aiohttp wraps OSErrors as a connector error


async def test_public_answers_pass_unchanged() -> None:
    dns = FakeDns({"api.example.com": [[PUBLIC_V4, PUBLIC_V6]]})
    answers = await GuardedResolver((), dns).resolve("api.example.com", 443)
    assert [a["host"] for a in answers] == [PUBLIC_V4, PUBLIC_V6]
    assert all(a["port"] == 443 for a in answers)


async def test_one_blocked_address_refuses_the_whole_answer() -> None:
    # The connector would try the next address after a failure: a mixed answer is not safe.
    guard = GuardedResolver((), FakeDns({"mixed.example.com": [[PUBLIC_V4, "10.0.0.5"]]}))
    with pytest.raises(AddressRefused):
        await guard.resolve("mixed.example.com", 443)


@pytest.mark.parametrize("private", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "::1",
                                     "::ffff:127.0.0.1", "64:ff9b::a9fe:a9fe"])
async def test_rebinding_public_then_private_is_refused(private: str) -> None:
    guard = GuardedResolver((), FakeDns({"rebind.example.com": [[PUBLIC_V4], [private]]}))
    assert [a["host"] for a in await guard.resolve("rebind.example.com", 443)] == [PUBLIC_V4]
    with pytest.raises(AddressRefused):
        await guard.resolve("rebind.example.com", 443)


@pytest.mark.parametrize("spelled", ["vllm.corp", "VLLM.Corp", "vllm.corp."])
async def test_internal_hosts_may_resolve_anywhere(spelled: str) -> None:
    dns = FakeDns({spelled: [["10.0.0.5", "127.0.0.1", "fd12::1"]]})
    guard = GuardedResolver(hosts_of(["http://vllm.corp:8000/v1"]), dns)
    answers = await guard.resolve(spelled, 8000)
    assert [a["host"] for a in answers] == ["10.0.0.5", "127.0.0.1", "fd12::1"]


async def test_internal_is_per_host_not_global() -> None:
    dns = FakeDns({"vllm.corp": [["10.0.0.5"]], "api.example.com": [["10.0.0.5"]]})
    guard = GuardedResolver(hosts_of(["http://vllm.corp:8000/v1"]), dns)
    await guard.resolve("vllm.corp", 8000)
    with pytest.raises(AddressRefused):
        await guard.resolve("api.example.com", 443)


async def test_resolution_errors_pass_through() -> None:
    with pytest.raises(OSError) as exc:
        await GuardedResolver((), FakeDns({})).resolve("nowhere.example.com", 443)
    assert not isinstance(exc.value, AddressRefused)


async def test_close_closes_the_inner_resolver() -> None:
    dns = FakeDns({})
    await GuardedResolver((), dns).close()
    assert dns.closed


def test_hosts_of_matches_what_aiohttp_hands_the_resolver() -> None:
    hosts = hosts_of(["http://Bücher.Example./v1", "http://[::1]:8000/", "https://API.x.com",
                      "http://10.0.0.5:8000/v1", "http://bad-port.example:99999/"])
    assert hosts == {"xn--bcher-kva.example", "::1", "api.x.com", "10.0.0.5"}
    assert host_key("Api.Example.COM.") == "api.example.com"
