"""The Responses API to an OpenAI upstream that has it (`responses_api` in the provider's config):
passthrough, only the model id changes on the way out, and the upstream's bytes come back untouched.

`create` builds `POST {base_url}/responses` from the client's body (llmrelay's own `provider` field
dropped); `retrieve`, `delete` and `input_items` reach a response the upstream holds.

    >>> OpenAIResponses().create(raw, body, "gpt-4o", target).url
    'https://api.openai.com/v1/responses'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, map_openai_error, rewrite_model


class ResponsesAdapter(Protocol):
    """An upstream's own Responses API, spoken as OpenAI speaks it (the passthrough path)."""

    def create(self, raw: bytes, body: Mapping[str, Any], model: str, target: Target) -> UpstreamRequest: ...

    def retrieve(self, response_id: str, target: Target) -> UpstreamRequest: ...

    def delete(self, response_id: str, target: Target) -> UpstreamRequest: ...

    def input_items(self, response_id: str, query: Mapping[str, str], target: Target) -> UpstreamRequest: ...

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError: ...


class OpenAIResponses:
    def create(self, raw: bytes, body: Mapping[str, Any], model: str, target: Target) -> UpstreamRequest:
        """`raw` as the client sent it, with `model` rewritten to the target's upstream id."""
        headers = bearer_headers(target)
        if body.get("stream"):
            headers["accept"] = "text/event-stream"
        return UpstreamRequest(
            "POST", f"{target.base_url}/responses", headers, rewrite_model(raw, body, model, target.model)
        )

    def retrieve(self, response_id: str, target: Target) -> UpstreamRequest:
        return UpstreamRequest("GET", _url(target, response_id), _headers(target), b"")

    def delete(self, response_id: str, target: Target) -> UpstreamRequest:
        return UpstreamRequest("DELETE", _url(target, response_id), _headers(target), b"")

    def input_items(self, response_id: str, query: Mapping[str, str], target: Target) -> UpstreamRequest:
        suffix = f"?{urlencode(dict(query))}" if query else ""
        return UpstreamRequest("GET", f"{_url(target, response_id)}/input_items{suffix}", _headers(target), b"")

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_openai_error(status, headers, body)


def _url(target: Target, response_id: str) -> str:
    return f"{target.base_url}/responses/{quote(response_id, safe='')}"


def _headers(target: Target) -> dict[str, str]:
    headers = bearer_headers(target)
    headers.pop("content-type", None)
    return headers
