"""Messages API requests passed through to an Anthropic upstream (the `messages` capability of the
registry's `anthropic` type): the client's body goes to `{base_url}/v1/messages` (or
`/v1/messages/count_tokens`) with only `model` rewritten to the upstream id (and llmrelay's own
`provider` pin removed); the reply's bytes go back untouched, and usage is read on the way.

Headers: the provider's (`x-api-key`, `anthropic-version: 2023-06-01`, its configured `headers`, as
the chat adapter sends them). The client's `anthropic-version` and `anthropic-beta` are forwarded
unless the provider's `headers` set that header themselves: the operator's word wins.

    >>> request = AnthropicMessages().build_request(body, target, {"anthropic-beta": "x"})
    >>> request.url
    'https://api.anthropic.com/v1/messages'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import orjson

from llmrelay.errors import UpstreamError
from llmrelay.providers.anthropic.chat import headers
from llmrelay.providers.anthropic.errors import map_error
from llmrelay.providers.anthropic.response import to_usage
from llmrelay.providers.anthropic.wire import AnthropicUsage
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import json_reply
from llmrelay.schemas.chat import Usage
from llmrelay.schemas.sse import SSEEvent

FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
"""The client's request headers that reach the upstream."""


class AnthropicMessages:
    passthrough: ClassVar[bool] = True

    def build_request(
        self, body: Mapping[str, Any], target: Target, client_headers: Mapping[str, str], *, count: bool = False
    ) -> UpstreamRequest:
        """`client_headers`: the client's headers named in FORWARDED_HEADERS (lower-case names)."""
        out = {key: (target.model if key == "model" else value) for key, value in body.items() if key != "provider"}
        sent = headers(target)
        configured = {name.lower() for name in target.headers}
        for name in FORWARDED_HEADERS:
            if name in client_headers and name not in configured:
                sent[name] = client_headers[name]
        path = "/v1/messages/count_tokens" if count else "/v1/messages"
        return UpstreamRequest("POST", f"{target.base_url}{path}", sent, orjson.dumps(out))

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)


def message_usage(body: bytes) -> Usage | None:
    """The usage of a non-stream Message (as chat usage, for the usage record); proves it is JSON."""
    usage = json_reply(body, "The upstream answered 200").get("usage")
    return to_usage(cast(AnthropicUsage, usage)) if isinstance(usage, dict) else None


class StreamUsage:
    """The usage of a Messages stream, from `message_start` (`message.usage`) and the cumulative
    `message_delta.usage`, whose non-null counts win (reference §2.4)."""

    __slots__ = ("_usage",)

    def __init__(self) -> None:
        self._usage: dict[str, Any] | None = None

    def feed(self, event: SSEEvent) -> None:
        if '"usage"' not in event.data:
            return
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start" and isinstance(data.get("message"), dict):
            found = data["message"].get("usage")
        elif kind == "message_delta":
            found = data.get("usage")
        else:
            return
        if isinstance(found, dict):
            later = {key: value for key, value in found.items() if value is not None}
            self._usage = {**(self._usage or {}), **later}

    @property
    def usage(self) -> Usage | None:
        return to_usage(cast(AnthropicUsage, self._usage)) if self._usage is not None else None
