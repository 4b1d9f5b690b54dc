"""Anthropic's Messages API inbound (`POST /v1/messages`, `/v1/messages/count_tokens`) on any model.

Two paths, chosen from the plan the relay makes for the model:

- **passthrough**: when every deployment the walk may try speaks Messages natively (registry field
  `messages`: the `anthropic` type), the client's body goes upstream with only the model id changed,
  and the reply's bytes (JSON or SSE) come back untouched; usage is read on the way. Retries and
  fallbacks as for chat (`relay.run`).
- **translated**: otherwise the body becomes a chat request (dialects/anthropic_request.py) that
  `relay.chat` serves like any other (every provider, the local model, retries, fallbacks), and its
  reply comes back as a Message (dialects/anthropic_messages.py) or as Messages stream events
  (dialects/anthropic_stream.py). A plan that mixes Anthropic and other deployments is translated
  whole: the Anthropic ones are then reached through the chat adapter.

count_tokens passes through to an Anthropic deployment, and is counted offline (the chat counter,
accounting/tokens.py) over the translated request for any other.

    >>> req = MessagesRequest.parse(raw, created=int(time.time()), request_id=record.request_id)
    >>> result = await create_message(relay, RequestContext(principal, record), req, forwarded)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import orjson

from llmrelay.dialects.anthropic_errors import error_body, event
from llmrelay.dialects.anthropic_messages import to_message
from llmrelay.dialects.anthropic_request import check_request, to_chat, translatable_part
from llmrelay.dialects.anthropic_stream import MessagesStream
from llmrelay.errors import InvalidRequestError, UpstreamError
from llmrelay.pipeline.accounting import estimate_chat_usage
from llmrelay.pipeline.context import RequestContext, RequestRecord
from llmrelay.pipeline.relay import JSONResult, Relay, StreamResult
from llmrelay.pipeline.routing import Deployment, Plan
from llmrelay.pipeline.stream import EventChunks, close_frames
from llmrelay.providers.anthropic.inbound import AnthropicMessages, StreamUsage, message_usage
from llmrelay.schemas.chat import ChatCompletionRequest, ChatRequest, parse_json_object
from llmrelay.transport.attempt import UpstreamStream
from llmrelay.transport.sse import SSEDecoder


class MessagesRequest(ChatRequest):
    """A checked Messages request: `messages_body` as the client sent it, and the chat request it
    translates to (what the relay serves, the rate limits reserve and count_tokens counts).

    A body chat cannot carry (a server tool, a block type chat lacks) may still pass through to
    Anthropic: its chat request then leaves out what it cannot carry, and `untranslatable` is the
    400 a translated path raises (`require_translation`)."""

    __slots__ = ("messages_body", "untranslatable")

    def __init__(
        self,
        messages_body: dict[str, Any],
        chat: dict[str, Any],
        *,
        untranslatable: InvalidRequestError | None,
        created: int,
        request_id: str,
    ) -> None:
        super().__init__(orjson.dumps(chat), cast(ChatCompletionRequest, chat), created, request_id)
        self.messages_body = messages_body
        self.untranslatable = untranslatable

    @classmethod
    def parse_messages(
        cls, raw: bytes, *, count: bool = False, created: int = 0, request_id: str = ""
    ) -> MessagesRequest:
        """Raises InvalidRequestError (400) for what no upstream would accept."""
        body = parse_json_object(raw)
        check_request(body, count=count)
        untranslatable: InvalidRequestError | None = None
        try:
            chat = to_chat(body, count=count)
        except InvalidRequestError as exc:
            untranslatable = exc
            chat = to_chat(translatable_part(body, count=count), count=count)
        return cls(body, chat, untranslatable=untranslatable, created=created, request_id=request_id)

    @property
    def stop_sequences(self) -> list[str]:
        stops = self.messages_body.get("stop_sequences")
        return [s for s in stops if isinstance(s, str)] if isinstance(stops, list) else []

    def require_translation(self) -> None:
        if self.untranslatable is not None:
            raise self.untranslatable


def passthrough_plan(plan: Plan) -> bool:
    """Whether every deployment the walk may try speaks Messages natively."""
    every = (*plan.candidates, *plan.context_fallbacks)
    return all(d.spec.messages is not None for d in every)


async def create_message(
    relay: Relay, ctx: RequestContext, req: MessagesRequest, forwarded: Mapping[str, str]
) -> JSONResult | StreamResult:
    """`forwarded`: the client's headers a passthrough sends upstream (inbound.FORWARDED_HEADERS)."""
    plan = relay.plan(ctx, req.model, req.body.get("provider"))
    if passthrough_plan(plan):
        return await _pass_through(relay, ctx, plan, req, forwarded)
    req.require_translation()
    result = await relay.chat(ctx, req)
    if isinstance(result, JSONResult):
        message = to_message(orjson.loads(result.body), stop_sequences=req.stop_sequences)
        return JSONResult(orjson.dumps(message))
    model = ctx.record.upstream_model or req.model
    prompt = estimate_chat_usage(req, model, "")["prompt_tokens"]
    translator = MessagesStream(input_tokens=prompt, stop_sequences=req.stop_sequences, model=model)
    return StreamResult(_translated(result.frames, translator, ctx.record))


async def count_tokens(
    relay: Relay, ctx: RequestContext, req: MessagesRequest, forwarded: Mapping[str, str]
) -> JSONResult:
    plan = relay.plan(ctx, req.model, req.body.get("provider"))

    async def attempt(deployment: Deployment) -> JSONResult:
        adapter = deployment.spec.messages
        if adapter is None:
            req.require_translation()
            tokens = estimate_chat_usage(req, deployment.target.model, "")["prompt_tokens"]
            return JSONResult(orjson.dumps({"input_tokens": tokens}))
        target = relay.target_of(ctx, deployment)
        request = adapter.build_request(req.messages_body, target, forwarded, count=True)
        return JSONResult(await relay.pool.session(target.provider).send(adapter, request, deployment.timeouts))

    return await relay.run(ctx, plan, attempt)


async def _pass_through(
    relay: Relay, ctx: RequestContext, plan: Plan, req: MessagesRequest, forwarded: Mapping[str, str]
) -> JSONResult | StreamResult:
    async def attempt(deployment: Deployment) -> JSONResult | StreamResult:
        adapter: AnthropicMessages | None = deployment.spec.messages
        assert adapter is not None  # passthrough_plan checked every deployment
        target = relay.target_of(ctx, deployment)
        request = adapter.build_request(req.messages_body, target, forwarded)
        session = relay.pool.session(target.provider)
        if req.stream:
            upstream = await session.open_stream(adapter, request, deployment.timeouts)
            return StreamResult(_relayed(upstream, ctx.record))
        body = await session.send(adapter, request, deployment.timeouts)
        ctx.record.usage = message_usage(body)
        return JSONResult(body)

    return await relay.run(ctx, plan, attempt)


async def _relayed(upstream: UpstreamStream, record: RequestRecord) -> AsyncIterator[bytes]:
    """An Anthropic SSE body relayed as it comes, cut only at event boundaries; the events that carry
    usage (`message_start`, `message_delta`) are parsed for the usage record. A broken upstream
    ends the stream with an `event: error`."""
    usage = StreamUsage()
    chunks = EventChunks(upstream)
    try:
        async for ready in chunks:
            _scan(ready, usage)
            yield ready
    except UpstreamError as exc:
        record.incomplete = True
        yield event("error", error_body(exc, record.request_id))
    finally:
        record.usage = usage.usage
        chunks.finish()


def _scan(ready: bytes, usage: StreamUsage) -> None:
    if b'"usage"' in ready:
        decoder = SSEDecoder()
        for sse in [*decoder.feed(ready), *decoder.close()]:
            usage.feed(sse)


async def _translated(
    frames: AsyncIterator[bytes], translator: MessagesStream, record: RequestRecord
) -> AsyncIterator[bytes]:
    """The relay's chat stream (OpenAI SSE frames) as Messages events; an error frame becomes an
    `event: error` and ends the stream. The relay has filled `record.usage` by the chat stream's end."""
    decoder = SSEDecoder()
    try:
        async for frame in frames:
            for sse in decoder.feed(frame):
                if not sse.data or sse.data == "[DONE]":
                    continue
                chunk = orjson.loads(sse.data)
                if isinstance(chunk.get("error"), dict):
                    yield b"".join(translator.error(chunk["error"]))
                    return
                out = translator.feed(chunk)
                if out:
                    yield b"".join(out)
        yield b"".join(translator.close(record.usage))
    finally:
        await close_frames(frames)  # closing the relay's stream aborts the upstream request
