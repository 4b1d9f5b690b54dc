"""Image generation to an OpenAI-compatible upstream: passthrough, only the model id changes.

Every parameter (dall-e-3's `quality`/`style`, gpt-image-1's `background`, `moderation`,
`output_format`, `output_compression`, vendor extras) goes out as the client sent it, and the
upstream's reply comes back unchanged. A request that named no model is sent with the model the
gateway routed it as (OpenAI's own default, see schemas/images.py), so the upstream never guesses.

    >>> OpenAIImages().build_request(req, target).url
    'http://127.0.0.1:9/v1/images/generations'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, cast

import orjson

from llmrelay.errors import UpstreamError, UpstreamProtocolError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, map_openai_error, rewrite_model
from llmrelay.schemas.images import ImagesRequest, ImagesResponse


class OpenAIImages:
    passthrough: ClassVar[bool] = True

    def build_request(self, req: ImagesRequest, target: Target) -> UpstreamRequest:
        if req.body.get("model") is None:
            fields = {k: v for k, v in req.body.items() if k not in ("model", "provider")}
            body = orjson.dumps({"model": target.model, **fields})
        else:
            body = rewrite_model(req.raw, req.body, req.model, target.model)
        return UpstreamRequest("POST", f"{target.base_url}/images/generations", bearer_headers(target), body)

    def parse_response(self, body: bytes, req: ImagesRequest, target: Target) -> ImagesResponse:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise UpstreamProtocolError("The upstream answered with a body that is not JSON.") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), list):
            raise UpstreamProtocolError("The upstream answered with JSON that is not an images response.")
        return cast(ImagesResponse, parsed)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_openai_error(status, headers, body)
