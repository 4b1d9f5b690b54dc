"""Embeddings to an OpenAI-compatible upstream: passthrough, only the model id changes.

>>> OpenAIEmbeddings().build_request(req, target).url
'http://127.0.0.1:9/v1/embeddings'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, map_openai_error, rewrite_model
from llmrelay.schemas.embeddings import EmbeddingsRequest, EmbeddingsResponse


class OpenAIEmbeddings:
    passthrough: ClassVar[bool] = True

    def build_request(self, req: EmbeddingsRequest, target: Target) -> UpstreamRequest:
        body = rewrite_model(req.raw, req.body, req.model, target.model)
        return UpstreamRequest("POST", f"{target.base_url}/embeddings", bearer_headers(target), body)

    def parse_response(self, body: bytes, req: EmbeddingsRequest, target: Target) -> EmbeddingsResponse:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream answered with a body that is not JSON.") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
            raise UpstreamProtocolError("The upstream answered with JSON that is not an embeddings list.")
        return cast(EmbeddingsResponse, parsed)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_openai_error(status, headers, body)
