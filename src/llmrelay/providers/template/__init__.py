"""Template providers: an upstream described by a folder of files instead of code (issue 5).

`spec` is the template language (what metadata.json, header.txt and payload.json may say, checked
into a `Template`); `request` builds the upstream request from it; `reply` reads the answer, streamed
or whole; `errors` maps error bodies; `chat` wires them to the ChatAdapter seam. The worked example
is examples/providers/qwen/ (chat.qwen.ai, reference §8.1).
"""

from llmrelay.providers.template.chat import OPTION, TemplateChat
from llmrelay.providers.template.spec import Template, TemplateError, canonical, compile_template, load_template

__all__ = ["OPTION", "Template", "TemplateChat", "TemplateError", "canonical", "compile_template", "load_template"]
