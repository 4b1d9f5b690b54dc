"""Embeddings through Cohere's Embed API v2 (`POST {base_url}/v2/embed`, cohere-python `v2/raw_client.py` `embed`).

    >>> CohereEmbeddings().build_request(req, target).body
    b'{"model":"embed-v4.0","texts":["hi"],"input_type":"search_document","embedding_types":["float"]}'

| OpenAI field | what happens |
|---|---|
| `model` | the deployment's upstream model id |
| `input` | `texts` (a string becomes a one-item list); token-id arrays → 400 (Cohere embeds text) |
| `encoding_format` | Cohere is always asked for `embedding_types: ["float"]`; the relay encodes base64 when asked |
| `dimensions` | `output_dimension`; 400 for the v2/v3 model families, which have none (the SDK: "only available for embed-v4 and newer models") |
| `user` | dropped (no Cohere equivalent) |
| `input_type` (Cohere's own field) | passed through when the client sends it; otherwise `search_document` |
| `provider` (llmrelay's own) | dropped |
| anything else | 400 naming it |

`input_type` is required by Embed v3 and newer. OpenAI's API has no such field, and its embeddings are
overwhelmingly computed for documents to be stored and searched, which is Cohere's `search_document`
("used for embeddings stored in a vector database for search use-cases", docs.cohere.com Embed
reference); clients embedding queries can send `input_type: "search_query"` (e.g. `extra_body`).

Reply: `embeddings.float[i]` → `data[i]`; usage is `meta.billed_units.input_tokens` (what Cohere counts
for an embed call), falling back to `meta.tokens.input_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from llmrelay.errors import UnsupportedParameterError, UpstreamError, UpstreamProtocolError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.cohere.chat import cohere_headers
from llmrelay.providers.cohere.errors import map_cohere_error
from llmrelay.providers.cohere.response import load_object
from llmrelay.schemas.embeddings import Embedding, EmbeddingsRequest, EmbeddingsResponse

_KNOWN = frozenset({"model", "input", "encoding_format", "dimensions", "user", "provider", "input_type"})
_INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering"})
_DEFAULT_INPUT_TYPE = "search_document"
_NO_OUTPUT_DIMENSION = re.compile(r"-v[23]\.\d")
"""embed-english-v3.0, embed-multilingual-light-v3.0, embed-english-v2.0, …"""


class CohereEmbeddings:
    """The embeddings adapter: `ProviderSpec(…, embeddings=CohereEmbeddings())`; replies carry float vectors."""

    passthrough: ClassVar[bool] = False

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        body = orjson.dumps(embed_body(req, target.model))
        return UpstreamRequest("POST", f"{target.base_url}/v2/embed", cohere_headers(target), body)

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse:
        reply = load_object(body, "an embed reply")
        embeddings = reply.get("embeddings")
        vectors = embeddings.get("float") if isinstance(embeddings, dict) else None
        if not isinstance(vectors, list) or len(vectors) != len(req.inputs):
            raise UpstreamProtocolError("The upstream's embed reply has no float vector for every input.")
        data: list[Embedding] = [
            {"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)
        ]
        tokens = _input_tokens(reply.get("meta"))
        return {
            "object": "list",
            "data": data,
            "model": target.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_cohere_error(status, headers, body)


def embed_body(req: EmbeddingsRequest, model: str) -> dict[str, Any]:
    fields: Mapping[str, Any] = {k: v for k, v in req.body.items() if v is not None}
    for name in fields:
        if name not in _KNOWN:
            raise UnsupportedParameterError(f"Unrecognized request argument supplied: {name}", param=name)
    if not all(isinstance(text, str) for text in req.inputs):
        raise UnsupportedParameterError("Cohere embeds text; token-id arrays are not supported.", param="input")
    input_type = fields.get("input_type", _DEFAULT_INPUT_TYPE)
    if input_type not in _INPUT_TYPES:
        raise UnsupportedParameterError(
            f"'input_type' must be one of {', '.join(sorted(_INPUT_TYPES))}.", param="input_type"
        )
    out: dict[str, Any] = {"model": model, "texts": req.inputs, "input_type": input_type, "embedding_types": ["float"]}
    if req.dimensions is not None:
        if _NO_OUTPUT_DIMENSION.search(model):
            raise UnsupportedParameterError(
                f"The Cohere model '{model}' has a fixed size; 'dimensions' needs embed-v4.0 or newer.",
                param="dimensions",
            )
        out["output_dimension"] = req.dimensions
    return out


def _input_tokens(meta: object) -> int:
    for key in ("billed_units", "tokens"):
        counts = meta.get(key) if isinstance(meta, dict) else None
        value = counts.get("input_tokens") if isinstance(counts, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return 0
