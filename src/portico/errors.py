"""The gateway's typed errors: retry, failover and the client's error envelope all read them.

    GatewayError                      status  retryable  failover
    ├── InvalidRequest                  400      no         no
    │   └── ContextLengthExceeded       400      no         to a larger-context fallback
    ├── PayloadTooLarge                 413      no         no
    ├── AuthError                       401      no         no
    ├── PermissionDenied                403      no         no
    │   └── PolicyViolation             403      no         no   (data-policy rule named)
    ├── NotFound                        404      no         no
    ├── RateLimited                     429      no         no   (our own inbound limits)
    ├── BudgetExceeded                  429      no         no
    ├── GatewayUnavailable              503      no         no   (every deployment's breaker open)
    ├── InternalError                   500      no         no
    └── UpstreamError                   502      (per class)
        ├── UpstreamRateLimited         429      yes        after backoff
        ├── UpstreamUnavailable         503      yes        after retries
        ├── UpstreamTimeout             504      yes        yes
        ├── UpstreamConnectError        502      no         at once
        ├── UpstreamAuthError           502      no         at once, key benched
        ├── UpstreamBadRequest          400      no         no   (sanitized passthrough)
        ├── UpstreamBadResponse         502      yes        yes  (malformed body)
        └── AllTargetsFailed            (last)   no         no   (keeps the attempt list)

Retry and failover decide on the class and its flags, never on message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class GatewayError(Exception):
    """Base of every error the gateway turns into an OpenAI error envelope."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "api_error"
    default_code: ClassVar[str | None] = None
    retryable: ClassVar[bool] = False
    # Whether the next deployment may be tried at once after this error.
    failover: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        # Seconds the client (or our retry loop) should wait, when known.
        self.retry_after = retry_after

    def envelope(self) -> dict[str, dict[str, str | None]]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequest(GatewayError):
    status = 400
    type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    default_code = "context_length_exceeded"


class PayloadTooLarge(GatewayError):
    status = 413
    type = "invalid_request_error"
    default_code = "payload_too_large"


class AuthError(GatewayError):
    status = 401
    type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    type = "permission_error"
    default_code = "permission_denied"


class PolicyViolation(PermissionDenied):
    default_code = "data_policy_violation"


class NotFound(GatewayError):
    status = 404
    type = "not_found_error"
    default_code = "not_found"


class ModelNotFound(NotFound):
    default_code = "model_not_found"


class RateLimited(GatewayError):
    status = 429
    type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class BudgetExceeded(GatewayError):
    status = 429
    type = "insufficient_quota"
    default_code = "budget_exceeded"


class GatewayUnavailable(GatewayError):
    status = 503
    type = "service_unavailable"
    default_code = "no_healthy_deployment"


class InternalError(GatewayError):
    status = 500
    type = "api_error"
    default_code = "internal_error"


class UpstreamError(GatewayError):
    """An upstream provider failed; subclasses say how the executor reacts."""

    status = 502
    type = "upstream_error"
    default_code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, retry_after=retry_after)
        self.upstream_status = upstream_status


class UpstreamRateLimited(UpstreamError):
    status = 429
    type = "rate_limit_error"
    default_code = "upstream_rate_limited"
    retryable = True


class UpstreamUnavailable(UpstreamError):
    status = 503
    type = "service_unavailable"
    default_code = "upstream_unavailable"
    retryable = True


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "timeout"
    default_code = "upstream_timeout"
    retryable = True
    failover = True


class UpstreamConnectError(UpstreamError):
    default_code = "upstream_connect_error"
    failover = True


class UpstreamAuthError(UpstreamError):
    default_code = "upstream_auth_error"
    failover = True


class UpstreamBadRequest(UpstreamError):
    status = 400
    type = "invalid_request_error"
    default_code = "upstream_rejected_request"


class UpstreamContextLength(UpstreamBadRequest):
    default_code = "context_length_exceeded"


class UpstreamBadResponse(UpstreamError):
    default_code = "upstream_bad_response"
    retryable = True
    failover = True


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One upstream attempt as the executor saw it (kept on AllTargetsFailed)."""

    deployment: str
    error_code: str | None
    upstream_status: int | None


class AllTargetsFailed(UpstreamError):
    def __init__(self, last: GatewayError, attempts: tuple[AttemptRecord, ...]) -> None:
        super().__init__(last.message, param=last.param, code=last.code,
                         retry_after=last.retry_after)
        self.last = last
        self.attempts = attempts
        # The client sees the status of the last real failure.
        self.status = last.status  # type: ignore[misc]
        self.type = last.type  # type: ignore[misc]
