"""The one HTTP client to providers: a pooled aiohttp session, explicit timeouts, no redirects,
and a resolver that re-checks every resolved address at connect time (address_guard.py).

Transport failures become typed GatewayErrors here, so the executor never sees aiohttp types.
Error messages name the provider, never the URL, address or headers (they may carry keys).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver

from portico.adapters.base import UpstreamRequest, UpstreamResponse
from portico.errors import (
    GatewayError,
    UpstreamBadResponse,
    UpstreamConnectError,
    UpstreamTimeout,
)
from portico.upstream.address_guard import AddressRefused, GuardedResolver, hosts_of

log = logging.getLogger("portico.upstream")

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    first_byte: float   # headers, and for streams the first body bytes
    idle: float         # gap between stream reads
    total: float        # the whole attempt (already clipped to the request deadline)


class StreamResponse:
    """An open upstream response whose body is read incrementally with idle timeouts."""

    def __init__(self, resp: aiohttp.ClientResponse, timeouts: Timeouts, label: str,
                 deadline: float) -> None:
        self._resp = resp
        self._timeouts = timeouts
        self._label = label
        self._deadline = deadline     # loop time by which the whole attempt must be over
        self._content = False         # until the first token, reads wait up to first_byte
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.headers.items()}

    async def read_all(self, limit: int = MAX_ERROR_BODY_BYTES) -> bytes:
        try:
            async with asyncio.timeout(self._timeouts.idle):
                return await self._resp.content.read(limit)
        except (TimeoutError, aiohttp.ClientError):
            return b""

    def mark_content(self) -> None:
        """The first token arrived: from now on reads wait at most the idle gap."""
        self._content = True

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._resp.content
        loop = asyncio.get_running_loop()
        idle = self._timeouts.idle
        while True:
            first = not self._content
            gap = self._timeouts.first_byte if first else idle
            now = loop.time()
            left = self._deadline - now
            wait = gap if gap < left else left
            try:
                async with asyncio.timeout_at(now + wait):
                    data = await content.readany()
            except TimeoutError as exc:
                if wait < gap:
                    raise UpstreamTimeout(f"{self._label} did not finish the stream within the "
                                          f"{self._timeouts.total:g}s total timeout",
                                          code="upstream_total_timeout") from exc
                what = "first token" if first else "next chunk"
                raise UpstreamTimeout(
                    f"{self._label} sent no {what} within {wait:g}s", code="upstream_idle_timeout"
                ) from exc
            except aiohttp.ClientError as exc:
                raise UpstreamBadResponse(
                    f"{self._label} interrupted the stream", code="upstream_stream_interrupted"
                ) from exc
            if not data:
                return
            yield data

    def close(self) -> None:
        """Abort the upstream connection at once (client cancel, cost cut-off)."""
        self._resp.close()


class UpstreamClient:
    """`internal_urls`: base URLs of providers marked internal (self-hosted); their hosts may
    resolve anywhere. Every other host is refused at connect time if it resolves to a blocked
    address. `resolver` replaces aiohttp's own underneath the guard (tests)."""

    def __init__(self, *, pool_size: int = 1000, user_agent: str = "portico",
                 internal_urls: Iterable[str] = (),
                 resolver: AbstractResolver | None = None) -> None:
        self._pool_size = pool_size
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._guard = GuardedResolver(hosts_of(internal_urls), resolver)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size, limit_per_host=0, ttl_dns_cache=300,
            keepalive_timeout=30, resolver=self._guard,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=True,
            headers={"user-agent": self._user_agent}, skip_auto_headers=("accept-encoding",),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._guard.close()     # the connector closes only resolvers it made itself

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("UpstreamClient.start() was not awaited")
        return self._session

    def _timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, sock_connect=t.connect, connect=t.connect)

    async def send(self, req: UpstreamRequest, timeouts: Timeouts, label: str,
                   extra_headers: tuple[tuple[str, str], ...] = ()) -> UpstreamResponse:
        """A whole request and response within `timeouts.total`."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeouts.total):
                async with self.session.request(
                    req.method, req.url, data=req.body, headers=req.headers + extra_headers,
                    allow_redirects=False, timeout=self._timeout(timeouts),
                ) as resp:
                    try:
                        body = await resp.content.read(MAX_BODY_BYTES + 1)
                    except aiohttp.ClientError as exc:
                        raise UpstreamBadResponse(
                            f"{label} closed the connection mid-body",
                            upstream_status=resp.status,
                        ) from exc
                    if len(body) > MAX_BODY_BYTES:
                        raise UpstreamBadResponse(f"{label} response exceeds the size limit")
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    return UpstreamResponse(status=resp.status, headers=headers, body=body)
        except TimeoutError as exc:
            spent = time.monotonic() - started
            raise UpstreamTimeout(f"{label} did not answer within {spent:.1f}s") from exc
        except aiohttp.ClientError as exc:
            raise _before_response(exc, label) from exc

    @asynccontextmanager
    async def stream(self, req: UpstreamRequest, timeouts: Timeouts, label: str,
                     extra_headers: tuple[tuple[str, str], ...] = ()
                     ) -> AsyncIterator[StreamResponse]:
        """Open a streaming response; headers must arrive within `timeouts.first_byte`, and
        the whole body within `timeouts.total`."""
        deadline = asyncio.get_running_loop().time() + timeouts.total
        try:
            async with asyncio.timeout(min(timeouts.first_byte, timeouts.total)):
                resp = await self.session.request(
                    req.method, req.url, data=req.body, headers=req.headers + extra_headers,
                    allow_redirects=False, timeout=self._timeout(timeouts),
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{label} sent no response headers in time") from exc
        except aiohttp.ClientError as exc:
            raise _before_response(exc, label) from exc
        stream = StreamResponse(resp, timeouts, label, deadline)
        try:
            yield stream
        finally:
            resp.release() if resp.content.at_eof() else resp.close()


def _before_response(exc: aiohttp.ClientError, label: str) -> GatewayError:
    """A transport failure before any response: refused or reset means fail over at once."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, AddressRefused):
        return _address_refused(exc.os_error, label)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamConnectError(f"could not connect to {label}")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return UpstreamConnectError(f"{label} closed the connection before answering")
    return UpstreamBadResponse(f"{label} sent an invalid HTTP response")


def _address_refused(refused: AddressRefused, label: str) -> GatewayError:
    """Logged here, once per refused attempt, with what the operator needs; the client's message
    names only the provider label (from the config), no host or address.

    An UpstreamConnectError (not retryable, fails over at once): the refusal is about where this
    provider's host points now, so retrying it would be refused again, while another deployment
    may well be fine. It counts as a breaker failure, so a host that keeps resolving to a
    blocked range stops being tried for the breaker's open interval."""
    log.warning("refused to connect to %s: its host %s resolved to %s (%s); not an internal "
                "provider, so this looks like DNS rebinding or a changed record (mark the "
                "provider `internal: true` only if it is self-hosted)",
                label, refused.host, refused.address, refused.reason)
    return UpstreamConnectError(
        f"could not connect to {label}: the gateway refused the address its host resolved to",
        code="upstream_address_refused")


async def admin_get(url: str, headers: dict[str, str], timeout: float = 10.0
                    ) -> tuple[int, bytes]:
    """One GET to a Portico admin route (for the CLI): status and body, redirects refused.

    It connects through the same guarded resolver as provider calls. The host the operator typed
    is trusted like an `internal: true` provider (the CLI's usual target is a loopback or private
    gateway); any other host (none today, as redirects are refused) would be checked."""
    guard = GuardedResolver(hosts_of([url]))
    connector = aiohttp.TCPConnector(resolver=guard)
    try:
        async with (
            aiohttp.ClientSession(connector=connector,
                                  timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url, headers=headers, allow_redirects=False) as resp,
        ):
            return resp.status, await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise UpstreamConnectError(f"could not reach {url}: {exc.__class__.__name__}"
                                   ) from exc
    finally:
        await guard.close()
