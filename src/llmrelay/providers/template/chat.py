"""The template chat adapter: a provider described by files, wired to the ChatAdapter seam.

The folder's contents arrive in `Target.options["template"]` (config/templates.py read and checked
them at start-up; routing put them there), compiled once per distinct text by `load_template`.
Replies are read line by line (`stream_framing = "lines"`, see `reply`), and a non-stream client of an
upstream that only streams gets the whole stream body assembled into one completion.

    >>> TemplateChat().build_request(req, target).url
    'https://chat.qwen.ai/api/v2/chat/completions?chat_id=3f0e7c1a-6a0b-4c3e-9d55-0a1b2c3d4e5f'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from llmrelay.errors import ServerError, UpstreamError
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.template.errors import map_template_error
from llmrelay.providers.template.reply import TemplateStream, parse_whole
from llmrelay.providers.template.request import build
from llmrelay.providers.template.spec import Template, load_template
from llmrelay.schemas.chat import ChatCompletion, ChatRequest

OPTION = "template"
"""The `Target.options` key holding the template document (`spec.canonical`)."""


class TemplateChat:
    passthrough: ClassVar[bool] = False
    stream_framing: ClassVar[str] = "lines"

    def build_request(self, req: ChatRequest, target: Target) -> UpstreamRequest:
        return build(req, target, template_of(target))

    def parse_response(self, body: bytes, req: ChatRequest, target: Target) -> ChatCompletion:
        return parse_whole(body, req, target.model, template_of(target).response)

    def open_stream(self, req: ChatRequest, target: Target) -> TemplateStream:
        return TemplateStream(req, target.model, template_of(target).response)

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_template_error(status, headers, body)


def template_of(target: Target) -> Template:
    text = target.options.get(OPTION)
    if text is None:
        raise ServerError(f"The template provider '{target.provider}' was started without its template.")
    return load_template(text)
