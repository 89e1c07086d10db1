"""The only HTTP client code: pooled sessions, timeouts, time-to-first-byte, abort on cancel."""

from portico.upstream.client import StreamResponse, Timeouts, UpstreamClient

__all__ = ["StreamResponse", "Timeouts", "UpstreamClient"]
