"""Connect-time SSRF guard: the upstream session's resolver refuses a host of a non-internal
provider when any address it resolves to *now* is private, loopback, link-local or metadata
(DNS rebinding, or a record that changed since the config-load check in config/urls.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from portico.config.urls import blocked_reason


class AddressRefused(OSError):
    """A host resolved to a blocked address. An OSError so aiohttp wraps it like any other
    resolution failure (ClientConnectorDNSError); upstream/client.py turns it into a typed
    GatewayError. The host and address are for the operator's log, never for the client."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(f"{host} resolved to {reason}")
        self.host = host
        self.address = address
        self.reason = reason


def host_key(host: str) -> str:
    """A host as the resolver compares it: lower case, no trailing dot (FQDN form)."""
    return host.rstrip(".").lower()


def hosts_of(urls: Iterable[str]) -> frozenset[str]:
    """The hosts of `urls`, in the form aiohttp hands its resolver (yarl's IDNA-encoded host).
    A URL yarl cannot parse adds no host (aiohttp refuses it when it is used)."""
    hosts: set[str] = set()
    for url in urls:
        try:
            host = URL(url).raw_host
        except ValueError:
            continue
        if host:
            hosts.add(host_key(host))
    return frozenset(hosts)


class GuardedResolver(AbstractResolver):
    """Wraps aiohttp's resolver; every answer for a host outside `internal` is checked.

    One bad address refuses the whole answer (as at config load): the connector would try the
    others in turn, so a mixed answer is a rebinding attempt, not a fallback.
    aiohttp calls no resolver for IP-literal hosts (`http://10.0.0.1/`): those are final at
    config load, where config/urls.py refuses them for non-internal providers.
    Answers are cached by the connector (ttl_dns_cache) only after they passed this check.
    """

    def __init__(self, internal: Iterable[str] = (), inner: AbstractResolver | None = None
                 ) -> None:
        self._internal = frozenset(host_key(h) for h in internal)
        self._inner = inner

    @property
    def internal(self) -> frozenset[str]:
        return self._internal

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self._inner is None:
            # Built lazily: the threaded resolver binds the running loop.
            self._inner = DefaultResolver()
        answers = await self._inner.resolve(host, port, family)
        if host_key(host) in self._internal:
            return answers
        for answer in answers:
            reason = blocked_reason(answer["host"])
            if reason is not None:
                raise AddressRefused(host, answer["host"], reason)
        return answers

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
