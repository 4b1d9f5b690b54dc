"""Embeddings through Workers AI: `/ai/run/@cf/baai/bge-…` (native), or `/ai/v1/embeddings` for a `v1/` id.

Native input `{"text": [...]}`, output `{"result": {"shape": [n, d], "data": [[...], ...]}}`
(cloudflare-python `types/ai/ai_run_params.py` TextEmbeddings, `ai_run_response.py`; Cloudflare's
workers-ai-provider `workersai-embedding-model.ts`).

| OpenAI field | on `/ai/run` |
|---|---|
| `model` | the URL path |
| `input` | `text`, always a list; token-id arrays → 400 (the models take text) |
| `encoding_format` | not sent: vectors come back as floats and the relay encodes base64 |
| `dimensions` | 400: each model has a fixed size (bge-small 384, bge-base 768, bge-large 1024) |
| `pooling` | Workers AI's `mean`/`cls` choice for bge models, passed through |
| `user` | dropped: no equivalent |
| any other field | 400 naming it |

Usage: the run endpoint reports no token counts for embeddings, so `usage` is
`{"prompt_tokens": 0, "total_tokens": 0}` unless a `usage` object comes back. On a `v1/` id the body
is forwarded as sent and the OpenAI reply checked and passed on.

    >>> WorkersAIEmbeddings().build_request(req, target).body
    b'{"text":["hello","world"]}'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import orjson

from llmrelay.errors import UnsupportedParameterError, UpstreamError, UpstreamProtocolError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, rewrite_model
from llmrelay.providers.workers_ai.errors import loads, map_error, unwrap
from llmrelay.providers.workers_ai.response import as_index, as_object, usage_of
from llmrelay.providers.workers_ai.route import route
from llmrelay.schemas.embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage

_KNOWN = frozenset({"model", "input", "encoding_format", "dimensions", "user", "provider", "pooling"})


class WorkersAIEmbeddings:
    passthrough: ClassVar[bool] = False

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        where = route(target, "embeddings")
        body = rewrite_model(req.raw, req.body, req.model, where.model) if where.openai else _run_body(req)
        return UpstreamRequest("POST", where.url, bearer_headers(target), body)

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse:
        result = unwrap(loads(body), body)
        vectors = result.get("data")
        if not isinstance(vectors, list) or len(vectors) != len(req.inputs):
            raise UpstreamProtocolError("Workers AI answered with a different number of embeddings than inputs.")
        data = [_embedding(i, item) for i, item in enumerate(vectors)]
        return {"object": "list", "data": data, "model": route(target, "embeddings").model, "usage": _usage(result)}

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)


def _run_body(req: EmbeddingsRequest) -> bytes:
    body = cast(Mapping[str, Any], req.body)
    for name in body:
        if name not in _KNOWN:
            raise UnsupportedParameterError(f"Workers AI embeddings do not support '{name}'.", param=name)
    if req.dimensions is not None:
        raise UnsupportedParameterError(
            "Workers AI embedding models have a fixed size; 'dimensions' cannot be chosen.", param="dimensions"
        )
    if not all(isinstance(text, str) for text in req.inputs):
        raise UnsupportedParameterError("Workers AI embeds text; token-id inputs are not supported.", param="input")
    out: dict[str, Any] = {"text": req.inputs}
    if body.get("pooling") is not None:
        out["pooling"] = body["pooling"]
    return orjson.dumps(out)


def _embedding(index: int, item: object) -> Embedding:
    """A native vector, or an OpenAI `{"object": "embedding", ...}` item from the compat endpoint."""
    vector = item.get("embedding") if isinstance(item, dict) else item
    if not isinstance(vector, list | str):
        raise UpstreamProtocolError("Workers AI answered with an embedding that is not a vector.")
    return {"object": "embedding", "index": as_index(as_object(item).get("index"), index), "embedding": vector}


def _usage(result: Mapping[str, Any]) -> EmbeddingsUsage:
    use = usage_of(result.get("usage"))
    prompt = use["prompt_tokens"] if use is not None else 0
    return {"prompt_tokens": prompt, "total_tokens": prompt}
