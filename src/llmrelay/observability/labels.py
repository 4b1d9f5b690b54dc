"""Label values for the metrics: bounded sets only, and never anything that looks like a secret.

A Prometheus series lives as long as the server, so every label value the gateway writes has to come
from a small set known in advance. The model name comes from the client, and so (through
passthrough and the inference rules) can the upstream model: any string it sends would otherwise
become a new series, and a client that sends its API key as the model would have it published.
So each value is checked against what the config serves:

- a value in the allowed set, and not secret-looking, is kept;
- any other value becomes `other`; a missing one (a 401 before routing) becomes `none`.

The secret check is a second guard behind the allowlist (a configured name is not a secret, but a
catalog can list anything): vendor key prefixes (`sk-`, `gsk_`, `AIza`…), bearer tokens, JWTs and
any run of 32 or more letters and digits are refused even when allowed.

    >>> cap = LabelCap(AllowedLabels(models={"gpt-4o"}, providers={"openai"}, deployments={"gpt-4o-2024-08-06"}))
    >>> cap.model("gpt-4o"), cap.model("sk-proj-abc123"), cap.model(None)
    ('gpt-4o', 'other', 'none')
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Literal, get_args

from llmrelay.errors import (
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeoutError,
    UpstreamUnreachableError,
)

OTHER = "other"
NONE = "none"
MAX_LABEL_LENGTH = 200

FailureReason = Literal[
    "rate_limited", "overloaded", "server_error", "timeout", "connection", "bad_response", "context_window", "other"
]
"""Why a retry or a fallback happened (the `reason` label)."""
LimitKind = Literal["rpm", "tpm", "budget", "unavailable"]
"""Which of our own limits refused a request (the `limit` label); `unavailable`: Redis down, fail-closed."""

FAILURE_REASONS: frozenset[str] = frozenset(get_args(FailureReason))
LIMIT_KINDS: frozenset[str] = frozenset(get_args(LimitKind))

_SECRET = re.compile(
    r"\b(?:sk|rk|pk|gsk|xai|hf|ghp|gho|ghs|glpat|r8)[-_][A-Za-z0-9]"  # vendor key prefixes
    r"|AIza[0-9A-Za-z_-]{16}"  # Google API keys
    r"|[Bb]earer\s"
    r"|eyJ[A-Za-z0-9_-]{10,}"  # a JWT's base64 header
    r"|[A-Za-z0-9]{32,}"  # long unbroken tokens: random keys, hex digests
)


@dataclass(frozen=True, slots=True)
class AllowedLabels:
    """What the config serves: the only model, provider and deployment names a label may carry.

    `models` holds public model names (what /v1/models lists), `providers` the config's provider
    names, `deployments` the upstream model ids of the config's entries. Any finite `Container`
    works: a frozenset taken at start-up, or a live view over a refreshed catalog.
    """

    models: Container[str]
    providers: Container[str]
    deployments: Container[str]


class LabelCap:
    """Maps raw values to bounded, secret-free label values (see the module docstring).

    The verdict on an allowed value is kept, so the secret check runs once per configured name;
    anything else is answered from the allowed set alone, so nothing a client sends is kept.
    """

    __slots__ = ("_allowed", "_safe")

    def __init__(self, allowed: AllowedLabels) -> None:
        self._allowed = allowed
        self._safe: dict[str, str] = {}

    def model(self, value: str | None) -> str:
        return self._bounded(value, self._allowed.models)

    def provider(self, value: str | None) -> str:
        return self._bounded(value, self._allowed.providers)

    def deployment(self, value: str | None) -> str:
        return self._bounded(value, self._allowed.deployments)

    def _bounded(self, value: str | None, allowed: Container[str]) -> str:
        if not value:
            return NONE
        if value not in allowed:
            return OTHER
        label = self._safe.get(value)
        if label is None:
            label = self._safe[value] = bounded(value, allowed)
        return label


def bounded(value: str | None, allowed: Container[str]) -> str:
    """`value` if it is allowed and safe to publish, else `other` (`none` when there is no value)."""
    if not value:
        return NONE
    if len(value) > MAX_LABEL_LENGTH or value not in allowed or looks_secret(value):
        return OTHER
    return value


def looks_secret(value: str) -> bool:
    return _SECRET.search(value) is not None


def status_label(status: int) -> str:
    """The HTTP status code itself (`200`, `429`, `503`…); `0` when no response was started.

    The exact code, not its class: 401, 404 and 429 mean different things to whoever is paged, and
    the gateway only ever sends a few dozen codes. Group with `status=~"5.."` in PromQL.
    """
    return str(status) if 100 <= status <= 599 else "0"


def failure_reason(error: BaseException) -> FailureReason:
    """The `reason` label for an upstream failure that led to a retry or a fallback.

    >>> failure_reason(UpstreamStatusError(529, "Overloaded"))
    'overloaded'
    """
    if isinstance(error, UpstreamStatusError):
        return _reason_for_status(error.status_code)
    if isinstance(error, UpstreamTimeoutError):
        return "timeout"
    if isinstance(error, UpstreamUnreachableError):
        return "connection"
    if isinstance(error, UpstreamProtocolError):
        return "bad_response"
    return "other"


def _reason_for_status(status: int) -> FailureReason:
    if status == 429:
        return "rate_limited"
    if status in (408, 504):
        return "timeout"
    if status in (503, 529):
        return "overloaded"
    return "server_error" if status >= 500 else "other"
