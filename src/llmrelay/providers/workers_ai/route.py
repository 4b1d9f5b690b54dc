"""Where one Workers AI request goes: the `/ai/run/{model}` envelope, or the OpenAI-compatible endpoint.

The upstream model id chooses, so one provider (one account, one token) serves both:

| `model` (after routing)            | URL under `{base_url}/accounts/{account_id}/ai/` | wire format        |
|------------------------------------|--------------------------------------------------|--------------------|
| `@cf/meta/llama-3.1-8b-instruct`   | `run/@cf/meta/llama-3.1-8b-instruct`             | Workers AI native  |
| `run/@cf/meta/llama-3.1-8b-instruct` | the same (an explicit `run/` is accepted)      | Workers AI native  |
| `v1/@cf/openai/gpt-oss-120b`       | `v1/chat/completions` or `v1/embeddings`, `model: "@cf/openai/gpt-oss-120b"` | OpenAI |

The prefix is the path segment after `/ai/` in Cloudflare's own URLs, and Cloudflare's AI SDK provider
also accepts a leading `run/` (cloudflare/ai packages/workers-ai-provider/src/utils.ts, `createRun`).

    >>> route(Target("cf", "https://api.cloudflare.com/client/v4", "v1/@cf/x/y", options={"account_id": "a1"}), "chat").url
    'https://api.cloudflare.com/client/v4/accounts/a1/ai/v1/chat/completions'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from llmrelay.errors import InvalidRequestError, ServerError
from llmrelay.providers.base import Target

OPENAI_PREFIX = "v1/"
RUN_PREFIX = "run/"
_OPENAI_PATHS = {"chat": "chat/completions", "embeddings": "embeddings"}

# A model id is put in the URL path as it is (its slashes are path segments), so it must not be able to
# walk out of `/ai/run/` (`..`) or add a query: the token in the Authorization header is good for the
# whole Cloudflare API, not only Workers AI.
_MODEL_ID = re.compile(r"[A-Za-z0-9@_:+-][A-Za-z0-9@._:+-]*(?:/[A-Za-z0-9@._:+-]+)*")


@dataclass(frozen=True, slots=True)
class Route:
    openai: bool
    """True for `/ai/v1/…` (OpenAI's wire format); False for `/ai/run/{model}` (the native envelope)."""
    model: str
    """The upstream model id without the routing prefix: what goes in the URL or the body's `model`."""
    url: str


def route(target: Target, what: Literal["chat", "embeddings"]) -> Route:
    """The endpoint for this target; a missing `account_id` or a malformed model id is an error here."""
    account = account_id(target)
    openai = target.model.startswith(OPENAI_PREFIX)
    model = target.model.removeprefix(OPENAI_PREFIX if openai else RUN_PREFIX)
    if not _MODEL_ID.fullmatch(model) or any(part in (".", "..") for part in model.split("/")):
        raise InvalidRequestError(
            f"'{target.model}' is not a Workers AI model id (expected e.g. '@cf/meta/llama-3.1-8b-instruct').",
            param="model",
            code="invalid_value",
        )
    root = f"{target.base_url}/accounts/{quote(account, safe='')}/ai"
    url = f"{root}/v1/{_OPENAI_PATHS[what]}" if openai else f"{root}/run/{model}"
    return Route(openai, model, url)


def account_id(target: Target) -> str:
    account = target.options.get("account_id")
    if not account:
        raise ServerError(
            f"The provider '{target.provider}' (type workers_ai) has no account_id; set "
            f"providers.{target.provider}.account_id in the gateway config (Workers AI URLs are per account)."
        )
    return account
