"""The one error tree of llmrelay; every error a client can see is one of these.

```
RelayError                          any failure rendered as OpenAI's error envelope
├── InvalidRequestError      400    bad input: malformed JSON, a missing or wrong-typed field (`param`)
│   └── UnsupportedParameterError   a parameter the chosen upstream cannot honour
├── AuthenticationError      401    missing or wrong key
├── PermissionDeniedError    403    key lacks a permission or a model
├── NotFoundError            404    unknown route or object
│   └── ModelNotFoundError          unknown model (`code: model_not_found`)
├── RequestTooLargeError     413    body over the configured limit
├── RateLimitError           429    our own limits (retry-after kept)
│   └── InsufficientQuotaError      the key's budget is spent (`insufficient_quota`)
├── StorageUnavailableError  503    the database is down and the answer is not cached
│   └── LimitsUnavailableError      Redis is down and `limits.redis_failure` is `closed`
└── UpstreamError                   the upstream failed; `retryable` says whether another try may help
    ├── UpstreamStatusError         the upstream answered 4xx/5xx: its status and message are kept
    ├── UpstreamUnreachableError 502 connection refused / reset before any response
    ├── UpstreamProtocolError    502 the upstream answered something we cannot read
    └── UpstreamTimeoutError     504 no answer in time
```

Each class fixes its HTTP status, OpenAI `type` and default `code`; `to_body()` renders the envelope:

    >>> ModelNotFoundError("The model 'x' does not exist", param="model").to_body()["error"]["code"]
    'model_not_found'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypedDict


class ErrorObject(TypedDict):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(TypedDict):
    error: ErrorObject


class RelayError(Exception):
    """Base of every error rendered to a client."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "server_error"
    default_code: ClassVar[str | None] = None
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers: Mapping[str, str] = headers or {}

    @property
    def status_code(self) -> int:
        return self.status

    @property
    def error_type(self) -> str:
        return self.type

    def to_body(self) -> ErrorBody:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequestError(RelayError):
    status = 400
    type = "invalid_request_error"


class UnsupportedParameterError(InvalidRequestError):
    default_code = "unsupported_parameter"


class AuthenticationError(RelayError):
    status = 401
    type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDeniedError(RelayError):
    status = 403
    type = "permission_error"


class NotFoundError(RelayError):
    status = 404
    type = "invalid_request_error"
    default_code = "not_found"


class ModelNotFoundError(NotFoundError):
    default_code = "model_not_found"


class RequestTooLargeError(RelayError):
    status = 413
    type = "invalid_request_error"
    default_code = "request_too_large"


class RateLimitError(RelayError):
    status = 429
    type = "rate_limit_exceeded"
    default_code = "rate_limit_exceeded"


class UpstreamError(RelayError):
    """The upstream failed. `raw` keeps the upstream body for logs (never for clients)."""

    status = 502
    type = "upstream_error"
    retryable = True
    raw: bytes = b""


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status; we answer with the same status and message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bytes = b"",
    ) -> None:
        super().__init__(message, param=param, code=code, headers=headers)
        self._status = status
        self._type = error_type or _type_for_status(status)
        self.raw = raw

    @property
    def status_code(self) -> int:
        return self._status

    @property
    def error_type(self) -> str:
        return self._type

    @property
    def is_retryable(self) -> bool:
        return self._status in RETRYABLE_STATUSES


class UpstreamUnreachableError(UpstreamError):
    status = 502
    default_code = "upstream_unreachable"


class UpstreamProtocolError(UpstreamError):
    status = 502
    default_code = "upstream_bad_response"


class UpstreamTimeoutError(UpstreamError):
    status = 504
    type = "timeout"
    default_code = "upstream_timeout"


RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})

_TYPE_BY_STATUS: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def _type_for_status(status: int) -> str:
    if status in _TYPE_BY_STATUS:
        return _TYPE_BY_STATUS[status]
    return "server_error" if status >= 500 else "invalid_request_error"


class ServerError(RelayError):
    """A bug in the gateway itself (500); the details go to the log, not to the client."""


class InsufficientQuotaError(RateLimitError):
    """429 `insufficient_quota`: the key's budget for its period is spent (OpenAI's type and code)."""

    type = "insufficient_quota"
    default_code = "insufficient_quota"


class StorageUnavailableError(RelayError):
    """503: the gateway's database is unreachable and the answer is not cached (e.g. a key seen first)."""

    status = 503
    type = "server_error"
    default_code = "storage_unavailable"
    retryable = True


class LimitsUnavailableError(StorageUnavailableError):
    """503: the shared rate-limit counters (Redis) cannot be reached and the config says fail closed."""

    default_code = "rate_limits_unavailable"
