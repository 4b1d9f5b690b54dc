"""The request path for inference, composed in one place: auth → routing → attempts → result.

Each capability is one `attempt(deployment)`; `Resilience.run` walks the plan with it (retries,
fallbacks, cooldowns: pipeline/resilience.py). A stream's attempt returns once its first chunk is
in hand (transport/attempt.py), so nothing is retried after a byte has reached the client.

A passthrough adapter's bytes go back untouched (usage read on the way); any other adapter's reply is
parsed and re-encoded as OpenAI JSON. Errors before the first byte are raised (the edge renders
them with their status); errors after it end the stream with an error event.

    >>> result = await relay.chat(ctx, ChatRequest.parse(raw))
    >>> result.body if isinstance(result, JSONResult) else result.frames
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import orjson

from llmrelay.dialects import completions as via_chat
from llmrelay.errors import InvalidRequestError
from llmrelay.pipeline.accounting import estimate_chat_usage, estimate_completion_usage
from llmrelay.pipeline.auth import Authenticator
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.resilience import NoCooldowns, Resilience
from llmrelay.pipeline.routing import Deployment, Plan, Router
from llmrelay.pipeline.stream import completion_frames, passthrough, reply_text, translated
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import json_reply
from llmrelay.schemas.chat import ChatRequest, Usage
from llmrelay.schemas.completions import CompletionRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest, to_base64
from llmrelay.schemas.images import ImagesRequest, token_usage
from llmrelay.transport.attempt import ErrorMapper
from llmrelay.transport.pool import Pool
from llmrelay.transport.sse import LineDecoder, SSEDecoder

A = TypeVar("A")
R = TypeVar("R", bound="JSONResult | StreamResult")


@dataclass(frozen=True, slots=True)
class JSONResult:
    body: bytes


@dataclass(frozen=True, slots=True)
class StreamResult:
    frames: AsyncIterator[bytes]


class Relay:
    def __init__(self, router: Router, pool: Pool, auth: Authenticator, resilience: Resilience | None = None) -> None:
        self.router = router
        self.pool = pool
        self.auth = auth
        self.resilience = resilience or Resilience(NoCooldowns())

    def plan(self, ctx: RequestContext, model: str, pin: object) -> Plan:
        """The deployments that may serve the request, as the caller may use them."""
        plan = self.auth.authorize(ctx.principal, self.router.plan(model, pin if isinstance(pin, str) else None))
        record, first = ctx.record, plan.first
        record.model, record.provider, record.upstream_model = plan.model, first.target.provider, first.target.model
        return plan

    def target_of(self, ctx: RequestContext, deployment: Deployment) -> Target:
        """The deployment's target, with the client's token for passthrough auth."""
        target = deployment.target
        return target.with_api_key(ctx.principal.token) if deployment.passthrough_auth else target

    async def run(self, ctx: RequestContext, plan: Plan, attempt: Callable[[Deployment], Awaitable[R]]) -> R:
        """The plan walked with retries and fallbacks; a stream's load and failure are settled at its end."""
        outcome = await self.resilience.run(plan, ctx.record, attempt)
        value = outcome.value
        if isinstance(value, StreamResult):
            frames = _settled(value.frames, ctx.record, outcome.key, outcome.finish, self.resilience)
            return cast(R, StreamResult(frames))
        outcome.finish(_tokens(ctx.record.usage))
        return value

    async def chat(self, ctx: RequestContext, req: ChatRequest) -> JSONResult | StreamResult:
        plan = self.plan(ctx, req.model, req.body.get("provider"))
        require_capability(plan.first.spec.chat, plan.first, "chat")

        async def attempt(deployment: Deployment) -> JSONResult | StreamResult:
            return await self._chat(ctx, req, deployment)

        return await self.run(ctx, plan, attempt)

    async def _chat(self, ctx: RequestContext, req: ChatRequest, deployment: Deployment) -> JSONResult | StreamResult:
        target = self.target_of(ctx, deployment)
        adapter = require_capability(deployment.spec.chat, deployment, "chat")
        upstream_request = adapter.build_request(req, target)
        if adapter.passthrough:
            count = functools.partial(estimate_chat_usage, req, target.model)
            return await self.pass_through(ctx, deployment, adapter, upstream_request, req.stream, count)
        session, timeouts = self.pool.session(target.provider), deployment.timeouts
        if req.stream:
            upstream = await session.open_stream(adapter, upstream_request, timeouts)
            translator = adapter.open_stream(req, target)
            estimate = functools.partial(estimate_chat_usage, req, target.model)
            decoder = LineDecoder() if getattr(adapter, "stream_framing", "sse") == "lines" else SSEDecoder()
            return StreamResult(translated(upstream, translator, req.include_usage, ctx.record, estimate, decoder))
        body = await session.send(adapter, upstream_request, timeouts)
        completion = adapter.parse_response(body, req, target)
        if "usage" not in completion:
            text = "".join(c["message"].get("content") or "" for c in completion["choices"])
            completion["usage"] = estimate_chat_usage(req, target.model, text)
            ctx.record.usage_estimated = True
        ctx.record.usage = completion["usage"]
        return JSONResult(orjson.dumps(completion))

    async def completions(self, ctx: RequestContext, req: CompletionRequest) -> JSONResult | StreamResult:
        """Legacy completions: passed through to upstreams that have the endpoint (OpenAI-compatible ones,
        the local model); a chat-only upstream gets the prompt as one user message (dialects/completions)."""
        plan = self.plan(ctx, req.model, req.body.get("provider"))
        require_capability(plan.first.spec.completions or plan.first.spec.chat, plan.first, "completions")

        async def attempt(deployment: Deployment) -> JSONResult | StreamResult:
            if deployment.spec.completions is None:
                require_capability(deployment.spec.chat, deployment, "completions")
                return await self._completions_via_chat(ctx, req, deployment)
            target = self.target_of(ctx, deployment)
            adapter = require_capability(deployment.spec.completions, deployment, "completions")
            count = functools.partial(estimate_completion_usage, req, target.model)
            request = adapter.build_request(req, target)
            return await self.pass_through(ctx, deployment, adapter, request, req.stream, count)

        return await self.run(ctx, plan, attempt)

    async def _completions_via_chat(
        self, ctx: RequestContext, req: CompletionRequest, deployment: Deployment
    ) -> JSONResult | StreamResult:
        body = cast(dict[str, Any], req.body)
        prompts = via_chat.prompts_of(body)
        created, request_id = int(time.time()), ctx.record.request_id

        def chat_request(prompt: str) -> ChatRequest:
            return ChatRequest.parse(
                orjson.dumps(via_chat.chat_body(body, prompt)), created=created, request_id=request_id
            )

        if req.stream:
            result = await self._chat(ctx, chat_request(prompts[0]), deployment)
            assert isinstance(result, StreamResult)
            return StreamResult(completion_frames(result.frames, via_chat.ChunkConverter(body, prompts[0])))
        completions = []
        n = int(body.get("n") or 1)
        for i, prompt in enumerate(prompts):  # one after another: each is one more request upstream
            reply = await self._chat(ctx, chat_request(prompt), deployment)
            assert isinstance(reply, JSONResult)
            completions.append(via_chat.completion_of(orjson.loads(reply.body), body, prompt, first_index=i * n))
        completion = via_chat.merged(completions)
        if len(prompts) > 1 and "usage" in completion:  # the summed usage replaces the last call's
            ctx.record.usage = cast(Usage, completion["usage"])
        return JSONResult(orjson.dumps(completion))

    async def pass_through(
        self,
        ctx: RequestContext,
        deployment: Deployment,
        adapter: ErrorMapper,
        request: UpstreamRequest,
        stream: bool,
        estimate: Callable[[str], Usage],
    ) -> JSONResult | StreamResult:
        """An OpenAI-speaking upstream: its bytes go back untouched; usage is read on the way, and
        counted offline by `estimate(generated_text)` when the upstream reports none."""
        session = self.pool.session(deployment.target.provider)
        if stream:
            upstream = await session.open_stream(adapter, request, deployment.timeouts)
            return StreamResult(passthrough(upstream, ctx.record, estimate))
        body = await session.send(adapter, request, deployment.timeouts)
        reply = json_object(body)  # parsed once: it proves the reply is an object and holds the usage
        ctx.record.usage = _usage_in(reply)
        if ctx.record.usage is None:
            text: list[str] = []
            reply_text(reply, text)
            ctx.record.usage, ctx.record.usage_estimated = estimate("".join(text)), True
        return JSONResult(body)

    async def embeddings(self, ctx: RequestContext, req: EmbeddingsRequest) -> JSONResult:
        plan = self.plan(ctx, req.model, req.body.get("provider"))
        require_capability(plan.first.spec.embeddings, plan.first, "embeddings")

        async def attempt(deployment: Deployment) -> JSONResult:
            return await self._embeddings(ctx, req, deployment)

        return await self.run(ctx, plan, attempt)

    async def _embeddings(self, ctx: RequestContext, req: EmbeddingsRequest, deployment: Deployment) -> JSONResult:
        target = self.target_of(ctx, deployment)
        adapter = require_capability(deployment.spec.embeddings, deployment, "embeddings")
        request = adapter.build_request(req, target)
        body = await self.pool.session(target.provider).send(adapter, request, deployment.timeouts)
        if adapter.passthrough:
            ctx.record.usage = _usage_in(json_object(body))
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
        plan = self.plan(ctx, req.model, req.body.get("provider"))
        require_capability(plan.first.spec.images, plan.first, "images")

        async def attempt(deployment: Deployment) -> JSONResult:
            target = self.target_of(ctx, deployment)
            adapter = require_capability(deployment.spec.images, deployment, "images")
            request = adapter.build_request(req, target)
            body = await self.pool.session(target.provider).send(adapter, request, deployment.timeouts)
            if adapter.passthrough:
                ctx.record.usage = token_usage(json_object(body).get("usage"))
                return JSONResult(body)
            response = adapter.parse_response(body, req, target)
            ctx.record.usage = token_usage(response.get("usage"))
            return JSONResult(orjson.dumps(response))

        return await self.run(ctx, plan, attempt)


async def _settled(
    frames: AsyncIterator[bytes],
    record: RequestRecord,
    key: str,
    finish: Callable[[int], None],
    resilience: Resilience,
) -> AsyncIterator[bytes]:
    """A stream's frames; at its end the load measures get its tokens, and a stream the upstream broke
    (the record says `incomplete`) counts as a failure of its deployment."""
    try:
        async for frame in frames:
            yield frame
        if record.incomplete:
            await resilience.stream_failed(key, "502 stream_interrupted")
    finally:
        finish(_tokens(record.usage))


def _tokens(usage: Usage | None) -> int:
    return int(usage.get("total_tokens") or 0) if usage else 0


_WHAT = {
    "chat": "chat completions",
    "completions": "legacy completions",
    "embeddings": "embeddings",
    "images": "image generation",
}


def require_capability(adapter: A | None, deployment: Deployment, capability: str) -> A:
    """The adapter for `capability`, or one clear 400 before any I/O when the model does not offer it."""
    if adapter is None or not deployment.narrowed.get(capability, True):
        what, provider = _WHAT[capability], deployment.target.provider
        raise InvalidRequestError(
            f"The model '{deployment.public_name}' does not support {what} (provider '{provider}').",
            param="model",
            code="unsupported_capability",
        )
    return adapter


def _usage_in(reply: dict[str, Any]) -> Usage | None:
    usage = reply.get("usage")
    return cast(Usage, usage) if isinstance(usage, dict) else None


def json_object(body: bytes) -> dict[str, Any]:
    """An OpenAI-format reply parsed, proving it is the JSON object it should be."""
    parsed: dict[str, Any] = json_reply(body, "The upstream answered 200")
    return parsed
