"""The request path for inference, composed in one place: auth → routing → one attempt → result.

A passthrough adapter's bytes go back untouched (usage read on the way); any other adapter's reply is
parsed and re-encoded as OpenAI JSON. Errors before the first byte are raised (the edge renders
them with their status); errors after it end the stream with an error event.

    >>> result = await relay.chat(ctx, ChatRequest.parse(raw))
    >>> result.body if isinstance(result, JSONResult) else result.frames
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import orjson

from llmrelay.errors import InvalidRequestError, UpstreamProtocolError
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.context import RequestContext
from llmrelay.pipeline.routing import Deployment, Router
from llmrelay.pipeline.stream import passthrough, translated
from llmrelay.providers.base import ChatAdapter
from llmrelay.schemas.chat import ChatRequest, Usage
from llmrelay.transport.attempt import open_stream, send
from llmrelay.transport.pool import Pool


@dataclass(frozen=True, slots=True)
class JSONResult:
    body: bytes


@dataclass(frozen=True, slots=True)
class StreamResult:
    frames: AsyncIterator[bytes]


class Relay:
    def __init__(self, router: Router, pool: Pool, auth: Authenticator) -> None:
        self.router = router
        self.pool = pool
        self.auth = auth

    async def chat(self, ctx: RequestContext, req: ChatRequest) -> JSONResult | StreamResult:
        plan = self.router.plan(req.model, req.body.get("provider"))
        self.auth.authorize(ctx.principal, plan)
        deployment = plan.first
        adapter = _chat_adapter(deployment)
        target = deployment.target
        if deployment.passthrough_auth:
            target = target.with_api_key(ctx.principal.token)
        record = ctx.record
        record.model, record.provider, record.upstream_model = plan.model, target.provider, target.model
        upstream_request = adapter.build_request(req, target)
        session = self.pool.session(target.provider)
        if req.stream:
            upstream = await open_stream(session, adapter, upstream_request)
            if adapter.passthrough:
                return StreamResult(passthrough(upstream, record))
            return StreamResult(translated(upstream, adapter.open_stream(target), record))
        body = await send(session, adapter, upstream_request)
        if adapter.passthrough:
            record.usage = _usage_of(body)
            return JSONResult(body)
        completion = adapter.parse_response(body, target)
        record.usage = completion.get("usage")
        return JSONResult(orjson.dumps(completion))


def _chat_adapter(deployment: Deployment) -> ChatAdapter:
    adapter = deployment.spec.chat
    if adapter is None:
        raise InvalidRequestError(
            f"The model '{deployment.public_name}' does not support chat completions.", param="model"
        )
    return adapter


def _usage_of(body: bytes) -> Usage | None:
    """The usage of an OpenAI-format reply; also proves the body is the JSON object it should be."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("The upstream answered 200 with a body that is not JSON.") from None
    if not isinstance(parsed, dict):
        raise UpstreamProtocolError("The upstream answered 200 with JSON that is not an object.")
    usage = parsed.get("usage")
    return cast(Usage, usage) if isinstance(usage, dict) else None
