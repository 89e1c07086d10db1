"""SSRF guard for admin-configured upstream URLs: scheme, host form and every resolved address.

Non-internal providers may not point at private, loopback, link-local, CGNAT, unique-local,
multicast, unspecified or cloud-metadata addresses, however the host is spelled.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from portico.config.secrets import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> every address the name resolves to (socket.getaddrinfo by default).
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
# Names that reach instance metadata or the local machine without any DNS record of their own.
BLOCKED_NAMES = frozenset({
    "localhost", "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.com", "ip6-localhost", "ip6-loopback",
})
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("169.254.170.2"),
    ipaddress.ip_address("169.254.169.253"), ipaddress.ip_address("100.100.100.200"),
    ipaddress.ip_address("192.0.0.192"), ipaddress.ip_address("fd00:ec2::254"),
    ipaddress.ip_address("fd00:ec2::23"),
})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Characters a valid host never holds; several parsers disagree about them (smuggling).
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_HOST = re.compile(r"^[0-9a-fA-FxX.]+$")
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _embedded_v4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, Teredo, NAT64)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    packed = int(addr)
    if packed >> 32 == 0 and packed > 1:      # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if addr in _NAT64:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


def forbidden_reason(addr: IPAddress) -> str | None:
    """Why an address may not be an upstream of a non-internal provider; None when public."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "an IPv6 zone-scoped address"
        inner = _embedded_v4(addr)
        if inner is not None:
            reason = forbidden_reason(inner)
            return f"{reason} (embedded in {addr})" if reason else None
    if addr in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (addr.is_unspecified, "an unspecified address"),
        (addr.is_loopback, "a loopback address"),
        (addr.is_link_local, "a link-local address"),
        (addr.is_multicast, "a multicast address"),
        (isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT, "a CGNAT (100.64/10) address"),
        (addr.is_private, "a private address"),
        (addr.is_reserved, "a reserved address"),
        (isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local, "a site-local address"),
        (not addr.is_global, "a non-global address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def resolved_address(text: str) -> IPAddress:
    """A resolver's answer as an address (ValueError if it is none). A zone (`%eth0`) is dropped:
    it only scopes link-local and multicast addresses, which are refused anyway."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def blocked_reason(text: str) -> str | None:
    """Why a resolved address may not be reached for a non-internal provider; None when public.

    Shared by the load-time check below and the connect-time resolver (upstream/address_guard.py).
    """
    try:
        addr = resolved_address(text)
    except ValueError:
        return "not an IP address"
    return forbidden_reason(addr)


def literal_address(host: str) -> IPAddress | None:
    """The address a host spells, in any form a resolver accepts (decimal, hex, octal, short)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def normalize_host(raw: str, path: str) -> str:
    """The ASCII, lower-case, dot-trimmed host; ConfigError for encodings we will not guess."""
    host = raw.strip("[]")
    if "%" in host:
        raise ConfigError(path, "base_url host must not be percent-encoded or zone-scoped")
    host = host.rstrip(".").lower()
    if not host:
        raise ConfigError(path, "base_url has no host")
    if ":" in host:       # IPv6 literal: validated as an address
        return host
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ConfigError(path, "base_url host is not a valid (IDNA) hostname") from exc
    if literal_address(ascii_host) is None and not all(
            _HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise ConfigError(path, "base_url host holds characters a hostname may not")
    return ascii_host


def check_upstream_url(url: str, path: str, *, internal: bool,
                       resolve: Resolver | None = system_resolver) -> None:
    """Raise ConfigError (naming `path`) unless `url` is a safe upstream base URL.

    `internal` providers (self-hosted, explicitly marked) may use private addresses; the
    structural rules (http/https, no credentials, a clean host) hold for every provider.
    `resolve=None` skips DNS (built-in vendor URLs, which are constants).
    """
    if _BAD_URL_CHARS.search(url):
        raise ConfigError(path, "base_url holds whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(path, f"base_url is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise ConfigError(path, f"base_url must use http or https, not {scheme or 'nothing'!r}")
    if "#" in url or "?" in url:
        raise ConfigError(path, "base_url must not carry a query or fragment")
    if "@" in parts.netloc or parts.username or parts.password:
        raise ConfigError(path, "base_url must not carry credentials (user@host); use keys[].key")
    if parts.hostname is None:
        raise ConfigError(path, "base_url has no host")
    host = normalize_host(parts.hostname, path)
    if internal:
        return
    if host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES):
        raise ConfigError(path, f"base_url host {host!r} is a local or metadata name; mark the "
                          "provider `internal: true` if it is self-hosted")
    literal = literal_address(host)
    if literal is not None:
        addresses: Sequence[str] = [str(literal)]
    elif resolve is None:
        return
    else:
        try:
            addresses = resolve(host, port or (443 if scheme == "https" else 80))
        except OSError as exc:
            raise ConfigError(path, f"base_url host {host!r} does not resolve") from exc
        if not addresses:
            raise ConfigError(path, f"base_url host {host!r} does not resolve")
    for text in addresses:
        try:
            addr = resolved_address(text)
        except ValueError as exc:
            raise ConfigError(path, f"base_url host resolves to an odd address {text!r}") from exc
        reason = forbidden_reason(addr)
        if reason is not None:
            raise ConfigError(path, f"base_url host {host!r} resolves to {reason} ({addr}); "
                              "mark the provider `internal: true` if it is self-hosted")
