"""`/v1/responses`: the Responses API on any model, passed through or translated, with stored responses.

Two paths, chosen per deployment:

- **passthrough**: an `openai` provider whose upstream has the Responses API (`responses_api`; by
  default only OpenAI's own base URL) gets the client's body with the model id rewritten, and its
  bytes (JSON or the event stream) go back untouched; usage is read from the final Response. Only
  such deployments of the plan are tried (fallbacks included). The gateway stores the response's id,
  its provider and the object, so GET, DELETE and `previous_response_id` go to the upstream holding it.
- **translated**: every other provider. The request becomes a chat request (dialects/responses.py)
  run by `relay.chat` (retries, fallbacks, any provider, the local model), and the chat completion or
  its chunks become a Response or the Responses events (dialects/responses_reply.py, _stream.py).
  The gateway stores the response with its whole conversation, for `previous_response_id`.

`previous_response_id` naming a response held by an upstream must go to a deployment of that same
provider (400 otherwise); one stored here is expanded into input items (for either path). An unknown
id is a 400 on the translated path; on the passthrough path it goes to the upstream, which may know it.

    >>> responses = Responses.from_config(config, relay, database.engine)
    >>> result = await responses.create(ctx, ResponsesRequest.parse(raw))
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from llmrelay.config.model import Config, ProviderConfig
from llmrelay.dialects.responses import JSON, ItemIds, ResponsesRequest, input_items, to_chat, upstream_input
from llmrelay.dialects.responses_reply import chat_usage, encode_event, from_completion, response_shell
from llmrelay.dialects.responses_stream import ResponsesStream
from llmrelay.errors import InvalidRequestError, NotFoundError, UpstreamError
from llmrelay.observability.logging import get_logger
from llmrelay.pipeline.context import RequestContext
from llmrelay.pipeline.relay import JSONResult, Relay, StreamResult, json_object
from llmrelay.pipeline.routing import Deployment, Plan
from llmrelay.pipeline.stream import EventChunks, close_frames
from llmrelay.providers.openai.responses import ResponsesAdapter
from llmrelay.schemas.chat import ChatRequest
from llmrelay.storage.keys import STORAGE_ERRORS
from llmrelay.storage.responses import ResponseStore, StoredResponse
from llmrelay.transport.attempt import UpstreamStream
from llmrelay.transport.sse import SSEDecoder

OPENAI_BASE_URL = "https://api.openai.com/v1"
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def has_responses_api(provider: ProviderConfig) -> bool:
    """Whether an `openai` provider's upstream has the Responses API: as configured, else only OpenAI's own."""
    if provider.type != "openai":
        return False
    if provider.responses_api is not None:
        return provider.responses_api
    return (provider.base_url or OPENAI_BASE_URL).rstrip("/") == OPENAI_BASE_URL


class Responses:
    def __init__(self, relay: Relay, store: ResponseStore, native: frozenset[str]) -> None:
        self.relay = relay
        self.store = store
        self.native = native
        """Names of the providers whose upstream has the Responses API."""
        self.log = get_logger()

    @classmethod
    def from_config(cls, config: Config, relay: Relay, engine: AsyncEngine) -> Responses:
        native = frozenset(name for name, provider in config.providers.items() if has_responses_api(provider))
        return cls(relay, ResponseStore(engine), native)

    def _adapter(self, deployment: Deployment) -> ResponsesAdapter | None:
        adapter = deployment.spec.responses
        return adapter if adapter is not None and deployment.target.provider in self.native else None

    async def create(self, ctx: RequestContext, req: ResponsesRequest) -> JSONResult | StreamResult:
        previous = await self._previous(ctx, req)
        plan = self.relay.plan(ctx, req.model, req.body.get("provider"))
        if previous is not None and previous.provider is not None:
            return await self._pass_through(ctx, req, self._holders(plan, previous), None)
        if self._adapter(plan.first) is not None:
            native = tuple(d for d in plan.candidates if self._adapter(d) is not None)
            return await self._pass_through(ctx, req, Plan(plan.model, native), previous)
        if req.previous_response_id is not None and previous is None:
            raise _unknown_previous(req.previous_response_id)
        return await self._translate(ctx, req, previous)

    async def _previous(self, ctx: RequestContext, req: ResponsesRequest) -> StoredResponse | None:
        """The stored response `previous_response_id` names; another key's is unknown (400), and must not
        reach an upstream that would find it there."""
        rid = req.previous_response_id
        if rid is None:
            return None
        found = await self.store.get(rid, ctx.principal.key_id)
        if found is None and await self.store.exists(rid):
            raise _unknown_previous(rid)
        return found

    def _holders(self, plan: Plan, previous: StoredResponse) -> Plan:
        """The plan's deployments on the provider that holds `previous` (and has the Responses API)."""
        held = tuple(d for d in plan.candidates if d.target.provider == previous.provider and self._adapter(d))
        if not held:
            raise InvalidRequestError(
                f"Previous response '{previous.id}' is held by the upstream of provider '{previous.provider}', "
                f"which does not serve the model '{plan.model}' here.",
                param="previous_response_id",
            )
        return Plan(plan.model, held)

    # The passthrough path

    async def _pass_through(
        self, ctx: RequestContext, req: ResponsesRequest, plan: Plan, local: StoredResponse | None
    ) -> JSONResult | StreamResult:
        raw, body = req.raw, req.body
        if local is not None:  # a conversation stored here: sent as input items, the upstream never saw it
            conversation = upstream_input([*local.input_items, *local.output_items])
            own = [{"role": "user", "content": req.input}] if isinstance(req.input, str) else list(req.input)
            body = {k: v for k, v in body.items() if k != "previous_response_id"}
            body["input"] = [*conversation, *own]
            raw = orjson.dumps(body)

        async def attempt(deployment: Deployment) -> JSONResult | StreamResult:
            adapter = self._adapter(deployment)
            assert adapter is not None  # the plan holds native deployments only
            target = self.relay.target_of(ctx, deployment)
            request = adapter.create(raw, body, req.model, target)
            session = self.relay.pool.session(target.provider)
            if req.stream:
                upstream = await session.open_stream(adapter, request, deployment.timeouts)
                return StreamResult(self._relay_stream(upstream, ctx, req, target.provider))
            answer = await session.send(adapter, request, deployment.timeouts)
            response = json_object(answer)
            ctx.record.usage = chat_usage(response.get("usage"))
            await self._keep_upstream(ctx, req, target.provider, response)
            return JSONResult(answer)

        return await self.relay.run(ctx, plan, attempt)

    async def _relay_stream(
        self, upstream: UpstreamStream, ctx: RequestContext, req: ResponsesRequest, provider: str
    ) -> AsyncIterator[bytes]:
        """The upstream's event stream as it came, cut only at event boundaries; the final Response is
        read on the way (usage, storage) before its bytes go on. A broken upstream: an `error` event."""
        decoder, chunks, seen = SSEDecoder(), EventChunks(upstream), 0
        try:
            async for ready in chunks:
                events = decoder.feed(ready)
                if chunks.complete:  # a last event without its blank line
                    events = [*events, *decoder.close()]
                seen += await self._scan(events, ctx, req, provider)
                yield ready
        except UpstreamError as exc:
            ctx.record.incomplete = True
            error = {"type": "error", "code": exc.code, "message": exc.message, "param": exc.param}
            yield encode_event({**error, "sequence_number": seen})
        finally:
            chunks.finish()

    async def _scan(self, events: Sequence[Any], ctx: RequestContext, req: ResponsesRequest, provider: str) -> int:
        """Read the final Response out of a passthrough stream's events; the number of events."""
        for event in events:
            name = event.event or ""
            if name in _FINAL_EVENTS or (not name and '"response.completed"' in event.data):
                try:
                    response = orjson.loads(event.data).get("response")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if isinstance(response, dict):
                    ctx.record.usage = chat_usage(response.get("usage"))
                    await self._keep_upstream(ctx, req, provider, response)
        return len(events)

    async def _keep_upstream(self, ctx: RequestContext, req: ResponsesRequest, provider: str, response: JSON) -> None:
        """Remember which provider holds a response the upstream stored (its id, its object)."""
        if not req.store or not isinstance(response.get("id"), str):
            return
        output = response.get("output")
        await self._save(
            StoredResponse(
                id=response["id"], key_id=ctx.principal.key_id, model=req.model, response=response,
                output_items=output if isinstance(output, list) else [], provider=provider,
                previous_response_id=req.previous_response_id,
            )
        )  # fmt: skip

    # The translated path

    async def _translate(
        self, ctx: RequestContext, req: ResponsesRequest, previous: StoredResponse | None
    ) -> JSONResult | StreamResult:
        ids = ItemIds(secrets.token_hex(24))
        created = int(time.time())
        items = input_items(req.input, ids)
        history = [*previous.input_items, *previous.output_items] if previous is not None else []
        chat = ChatRequest.parse(
            orjson.dumps(to_chat(req, items, history)), created=created, request_id=ctx.record.request_id
        )
        shell = response_shell(req, ids.response, created, req.model)
        conversation = [*history, *items]
        result = await self.relay.chat(ctx, chat)
        if isinstance(result, JSONResult):
            response = from_completion(shell, json_object(result.body), ids, int(time.time()))
            await self._keep(ctx, req, conversation, response)
            return JSONResult(orjson.dumps(response))
        return StreamResult(self._events(result.frames, ResponsesStream(shell, ids), ctx, req, conversation))

    async def _events(
        self,
        frames: AsyncIterator[bytes],
        stream: ResponsesStream,
        ctx: RequestContext,
        req: ResponsesRequest,
        conversation: list[JSON],
    ) -> AsyncIterator[bytes]:
        """A chat stream's frames as Responses events; the final Response is stored before its event goes."""
        decoder = SSEDecoder()
        try:
            yield _encode(stream.start())
            async for frame in frames:
                for event in decoder.feed(frame):
                    if event.data == "[DONE]" or not event.data:
                        continue
                    chunk = orjson.loads(event.data)
                    if isinstance(chunk, dict) and isinstance(chunk.get("error"), dict):
                        events = stream.fail(chunk["error"])
                        await self._keep(ctx, req, conversation, stream.response)
                        yield _encode(events)
                        return
                    if isinstance(chunk, dict) and (events := stream.feed(chunk)):
                        yield _encode(events)
            events = stream.finish(int(time.time()), ctx.record.usage)
            await self._keep(ctx, req, conversation, stream.response)
            yield _encode(events)
        finally:  # a client that leaves closes the chat stream, and so the upstream request, at once
            await close_frames(frames)

    async def _keep(self, ctx: RequestContext, req: ResponsesRequest, conversation: list[JSON], response: JSON) -> None:
        if req.store:
            await self._save(
                StoredResponse(
                    id=response["id"], key_id=ctx.principal.key_id, model=req.model, response=response,
                    input_items=conversation, output_items=list(response["output"]),
                    previous_response_id=req.previous_response_id,
                )
            )  # fmt: skip

    async def _save(self, row: StoredResponse) -> None:
        """Store a response; a database that is down costs the stored copy, not the answer."""
        try:
            await self.store.save(row)
        except STORAGE_ERRORS as exc:
            self.log.warning("response_store_failed", response_id=row.id, error=type(exc).__name__)

    # Stored responses

    async def retrieve(self, ctx: RequestContext, response_id: str) -> bytes:
        row = await self._stored(ctx, response_id)
        if row.provider is None:
            return orjson.dumps(row.response)
        deployment, adapter = self._holder(ctx, row)
        target = self.relay.target_of(ctx, deployment)
        return await self._send(deployment, adapter, adapter.retrieve(response_id, target))

    async def delete(self, ctx: RequestContext, response_id: str) -> bytes:
        row = await self._stored(ctx, response_id)
        answer = orjson.dumps({"id": response_id, "object": "response", "deleted": True})
        if row.provider is not None:
            deployment, adapter = self._holder(ctx, row)
            target = self.relay.target_of(ctx, deployment)
            answer = await self._send(deployment, adapter, adapter.delete(response_id, target))
        await self.store.delete(response_id, ctx.principal.key_id)
        return answer

    async def input_items(self, ctx: RequestContext, response_id: str, query: Mapping[str, str]) -> bytes:
        """`GET /v1/responses/{id}/input_items`: `limit` (1-100, 20), `order` (`desc` default), `after`."""
        row = await self._stored(ctx, response_id)
        if row.provider is not None:
            deployment, adapter = self._holder(ctx, row)
            target = self.relay.target_of(ctx, deployment)
            return await self._send(deployment, adapter, adapter.input_items(response_id, query, target))
        return orjson.dumps(item_list(row.input_items, query))

    async def _stored(self, ctx: RequestContext, response_id: str) -> StoredResponse:
        row = await self.store.get(response_id, ctx.principal.key_id)
        if row is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.", param="response_id")
        return row

    def _holder(self, ctx: RequestContext, row: StoredResponse) -> tuple[Deployment, ResponsesAdapter]:
        """A deployment of the provider holding `row` (its model entry if it still has one)."""
        deployment = self.relay.plan(ctx, row.model, row.provider).first
        adapter = self._adapter(deployment)
        if adapter is None:
            raise InvalidRequestError(
                f"The provider '{row.provider}' holding response '{row.id}' no longer serves the Responses API.",
                param="response_id",
            )
        return deployment, adapter

    async def _send(self, deployment: Deployment, adapter: ResponsesAdapter, request: Any) -> bytes:
        session = self.relay.pool.session(deployment.target.provider)
        return await session.send(adapter, request, deployment.timeouts)


def item_list(items: Sequence[JSON], query: Mapping[str, str]) -> JSON:
    """A page of stored input items as OpenAI lists them (`object: list`, `first_id`, `last_id`, `has_more`)."""
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequestError("Invalid value for 'order': expected 'asc' or 'desc'.", param="order")
    limit = _limit(query.get("limit"))
    ordered = list(items) if order == "asc" else list(reversed(items))
    after = query.get("after")
    if after:
        at = next((i for i, item in enumerate(ordered) if item.get("id") == after), None)
        if at is None:
            raise InvalidRequestError(f"No input item with id '{after}'.", param="after")
        ordered = ordered[at + 1 :]
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": len(ordered) > limit,
    }


def _limit(value: str | None) -> int:
    if value is None:
        return 20
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise InvalidRequestError("Invalid value for 'limit': expected an integer from 1 to 100.", param="limit")
    return int(value)


def _unknown_previous(response_id: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def _encode(events: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(encode_event(event) for event in events)


__all__ = ["Responses", "has_responses_api", "item_list"]
