"""The request path for inference, composed in one place: auth → routing → one attempt → result.

A passthrough adapter's bytes go back untouched (usage read on the way); any other adapter's reply is
parsed and re-encoded as OpenAI JSON. Errors before the first byte are raised (the edge renders
them with their status); errors after it end the stream with an error event.

    >>> result = await relay.chat(ctx, ChatRequest.parse(raw))
    >>> result.body if isinstance(result, JSONResult) else result.frames
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import orjson

from llmrelay.errors import InvalidRequestError, UpstreamProtocolError
from llmrelay.pipeline.accounting import estimate_chat_usage, estimate_completion_usage
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.context import RequestContext
from llmrelay.pipeline.routing import Deployment, Router
from llmrelay.pipeline.stream import passthrough, reply_text, translated
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.schemas.chat import ChatRequest, Usage
from llmrelay.schemas.completions import CompletionRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest, to_base64
from llmrelay.schemas.images import ImagesRequest, token_usage
from llmrelay.transport.attempt import ErrorMapper
from llmrelay.transport.pool import Pool
from llmrelay.transport.sse import LineDecoder, SSEDecoder

A = TypeVar("A")


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

    def _resolve(self, ctx: RequestContext, model: str, pin: object) -> tuple[Deployment, Target]:
        """The deployment to try and its target (with the client's token for passthrough auth)."""
        plan = self.router.plan(model, pin if isinstance(pin, str) else None)
        self.auth.authorize(ctx.principal, plan)
        deployment = plan.first
        target = deployment.target
        if deployment.passthrough_auth:
            target = target.with_api_key(ctx.principal.token)
        record = ctx.record
        record.model, record.provider, record.upstream_model = plan.model, target.provider, target.model
        return deployment, target

    async def chat(self, ctx: RequestContext, req: ChatRequest) -> JSONResult | StreamResult:
        deployment, target = self._resolve(ctx, req.model, req.body.get("provider"))
        adapter = _capability(deployment.spec.chat, deployment, "chat")
        upstream_request = adapter.build_request(req, target)
        if adapter.passthrough:
            count = functools.partial(estimate_chat_usage, req, target.model)
            return await self._passthrough(ctx, target, adapter, upstream_request, req.stream, count)
        session = self.pool.session(target.provider)
        if req.stream:
            upstream = await session.open_stream(adapter, upstream_request)
            translator = adapter.open_stream(req, target)
            estimate = functools.partial(estimate_chat_usage, req, target.model)
            decoder = LineDecoder() if getattr(adapter, "stream_framing", "sse") == "lines" else SSEDecoder()
            return StreamResult(translated(upstream, translator, req.include_usage, ctx.record, estimate, decoder))
        completion = adapter.parse_response(await session.send(adapter, upstream_request), req, target)
        if "usage" not in completion:
            text = "".join(c["message"].get("content") or "" for c in completion["choices"])
            completion["usage"] = estimate_chat_usage(req, target.model, text)
            ctx.record.usage_estimated = True
        ctx.record.usage = completion["usage"]
        return JSONResult(orjson.dumps(completion))

    async def completions(self, ctx: RequestContext, req: CompletionRequest) -> JSONResult | StreamResult:
        """Legacy completions: passthrough only (OpenAI-compatible upstreams and the local model)."""
        deployment, target = self._resolve(ctx, req.model, req.body.get("provider"))
        adapter = _capability(deployment.spec.completions, deployment, "completions")
        count = functools.partial(estimate_completion_usage, req, target.model)
        return await self._passthrough(ctx, target, adapter, adapter.build_request(req, target), req.stream, count)

    async def _passthrough(
        self,
        ctx: RequestContext,
        target: Target,
        adapter: ErrorMapper,
        request: UpstreamRequest,
        stream: bool,
        estimate: Callable[[str], Usage],
    ) -> JSONResult | StreamResult:
        """An OpenAI-speaking upstream: its bytes go back untouched; usage is read on the way, and
        counted offline by `estimate(generated_text)` when the upstream reports none."""
        session = self.pool.session(target.provider)
        if stream:
            return StreamResult(passthrough(await session.open_stream(adapter, request), ctx.record, estimate))
        body = await session.send(adapter, request)
        ctx.record.usage = _usage_of(body)
        if ctx.record.usage is None:
            text: list[str] = []
            reply_text(orjson.loads(body), text)
            ctx.record.usage, ctx.record.usage_estimated = estimate("".join(text)), True
        return JSONResult(body)

    async def embeddings(self, ctx: RequestContext, req: EmbeddingsRequest) -> JSONResult:
        deployment, target = self._resolve(ctx, req.model, req.body.get("provider"))
        adapter = _capability(deployment.spec.embeddings, deployment, "embeddings")
        body = await self.pool.session(target.provider).send(adapter, adapter.build_request(req, target))
        if adapter.passthrough:
            ctx.record.usage = _usage_of(body)
            return JSONResult(body)
        response = adapter.parse_response(body, req, target)
        usage = response["usage"]
        ctx.record.usage = {
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": 0,
            "total_tokens": usage["total_tokens"],
        }
        if req.encoding_format == "base64":
            for item in response["data"]:
                if not isinstance(item["embedding"], str):
                    item["embedding"] = to_base64(item["embedding"])
        return JSONResult(orjson.dumps(response))

    async def images(self, ctx: RequestContext, req: ImagesRequest) -> JSONResult:
        """Image generation: a passthrough upstream's reply goes back as it came; others are translated."""
        deployment, target = self._resolve(ctx, req.model, req.body.get("provider"))
        adapter = _capability(deployment.spec.images, deployment, "images")
        body = await self.pool.session(target.provider).send(adapter, adapter.build_request(req, target))
        if adapter.passthrough:
            ctx.record.usage = token_usage(_json_object(body).get("usage"))
            return JSONResult(body)
        response = adapter.parse_response(body, req, target)
        ctx.record.usage = token_usage(response.get("usage"))
        return JSONResult(orjson.dumps(response))


_WHAT = {
    "chat": "chat completions",
    "completions": "legacy completions",
    "embeddings": "embeddings",
    "images": "image generation",
}


def _capability(adapter: A | None, deployment: Deployment, capability: str) -> A:
    """The adapter for `capability`, or one clear 400 before any I/O when the model does not offer it."""
    if adapter is None or not deployment.narrowed.get(capability, True):
        what, provider = _WHAT[capability], deployment.target.provider
        raise InvalidRequestError(
            f"The model '{deployment.public_name}' does not support {what} (provider '{provider}').",
            param="model",
            code="unsupported_capability",
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


def _json_object(body: bytes) -> dict[str, object]:
    """An OpenAI-format reply parsed, proving it is the JSON object it should be."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("The upstream answered 200 with a body that is not JSON.") from None
    if not isinstance(parsed, dict):
        raise UpstreamProtocolError("The upstream answered 200 with JSON that is not an object.")
    return parsed
