"""OpenAI embeddings → Gemini `batchEmbedContents` (google-genai `models.py` `_EmbedContentParameters_to_mldev`).

`POST {base}/v1beta/models/{model}:batchEmbedContents` with one request per input:
`{"requests": [{"model": "models/{model}", "content": {"parts": [{"text": …}]}, "outputDimensionality": d}]}`;
the reply is `{"embeddings": [{"values": [floats]}]}`, in input order.

| OpenAI field | what happens |
|---|---|
| `input` (string or strings) | one request each; token-id inputs → 400 (Gemini embeds text only) |
| `dimensions` | `outputDimensionality` on every request |
| `encoding_format` | floats come back; the relay base64-encodes them when asked |
| `user` | dropped (no Gemini field) |
| `provider` | llmrelay's own routing pin; never sent |
| anything else | 400 naming it |

Usage: the Gemini API reports no token counts for embeddings (`_EmbedContentMetadata_from_mldev` reads
nothing), so `usage` is `{"prompt_tokens": 0, "total_tokens": 0}`: an honest "not reported", not a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from llmrelay.errors import UnsupportedParameterError, UpstreamError, UpstreamProtocolError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.gemini.errors import map_error
from llmrelay.providers.gemini.response import decode
from llmrelay.providers.gemini.wire import JSONObject, api_headers, resource_name
from llmrelay.schemas.embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse

_KNOWN = frozenset({"model", "input", "encoding_format", "dimensions", "user", "provider"})


class GeminiEmbeddings:
    passthrough: ClassVar[bool] = False

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        unknown = next((name for name in req.body if name not in _KNOWN), None)
        if unknown is not None:
            raise UnsupportedParameterError(f"Unrecognized request argument supplied: {unknown}", param=unknown)
        name = resource_name(target.model)
        requests: list[JSONObject] = []
        for text in req.inputs:
            if not isinstance(text, str):
                raise UnsupportedParameterError("Gemini embeds text; token-id inputs are not supported.", param="input")
            one: JSONObject = {"model": name, "content": {"parts": [{"text": text}]}}
            if req.dimensions is not None:
                one["outputDimensionality"] = req.dimensions
            requests.append(one)
        url = f"{target.base_url}/v1beta/{name}:batchEmbedContents"
        body = orjson.dumps({"requests": requests})
        return UpstreamRequest("POST", url, api_headers(target.api_key, dict(target.headers)), body)

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse:
        embeddings = decode(body).get("embeddings")
        if not isinstance(embeddings, list) or len(embeddings) != len(req.inputs):
            raise UpstreamProtocolError("Gemini answered with a different number of embeddings than inputs.")
        data: list[Embedding] = []
        for index, item in enumerate(embeddings):
            values = item.get("values") if isinstance(item, dict) else None
            if not isinstance(values, list):
                raise UpstreamProtocolError("Gemini sent an embedding without values.")
            data.append({"object": "embedding", "index": index, "embedding": values})
        return {"object": "list", "data": data, "model": target.model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_error(status, headers, body)
