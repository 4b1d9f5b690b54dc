"""Legacy completions to an OpenAI-compatible upstream: passthrough, only the model id changes."""

from __future__ import annotations

from collections.abc import Mapping

from llmrelay.errors import UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.openai.chat import bearer_headers, map_openai_error, rewrite_model
from llmrelay.schemas.completions import CompletionRequest


class OpenAICompletions:
    def build_request(self, req: CompletionRequest, target: Target) -> UpstreamRequest:
        headers = bearer_headers(target)
        if req.stream:
            headers["accept"] = "text/event-stream"
        body = rewrite_model(req.raw, req.body, req.model, target.model)
        return UpstreamRequest("POST", f"{target.base_url}/completions", headers, body)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_openai_error(status, headers, body)
