"""Builds the upstream auth and fixed headers for a target, per the provider's auth scheme."""

from __future__ import annotations

from typing import assert_never

from portico.adapters.base import AuthScheme, Target


def upstream_headers(target: Target, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """Content type, auth, the vendor's fixed headers, then the deployment's own headers."""
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    key = target.api_key.reveal() if target.api_key else ""
    scheme = target.provider.auth
    if scheme is AuthScheme.BEARER:
        if key:
            headers.append(("authorization", f"Bearer {key}"))
    elif scheme is AuthScheme.X_API_KEY:
        headers.append(("x-api-key", key))
    elif scheme is AuthScheme.API_KEY_HEADER:
        headers.append(("api-key", key))
    elif scheme is AuthScheme.GOOGLE_API_KEY:
        headers.append(("x-goog-api-key", key))
    elif scheme is AuthScheme.NONE:
        pass
    else:
        assert_never(scheme)
    headers.extend(target.provider.default_headers)
    headers.extend(target.extra_headers)
    headers.extend(extra)
    return tuple(headers)


def join_url(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")
