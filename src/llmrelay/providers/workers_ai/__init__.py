"""Cloudflare Workers AI (reference §5): the `/ai/run/{model}` envelope and the OpenAI-compatible endpoint.

chat.py        the ChatAdapter: build the request, parse the reply, open the stream translator
route.py       which endpoint a model id goes to (`v1/` prefix → OpenAI-compatible) and its URL
request.py     OpenAI request → run input (the "OpenAI field → what happens" table)
response.py    run or OpenAI-shaped reply → chat.completion; usage and finish_reason
stream.py      SSE events (native or OpenAI-shaped) → chunks
errors.py      error bodies and in-stream errors → our error tree
embeddings.py  the EmbeddingsAdapter
"""

from llmrelay.providers.workers_ai.chat import WorkersAIChat
from llmrelay.providers.workers_ai.embeddings import WorkersAIEmbeddings

__all__ = ["WorkersAIChat", "WorkersAIEmbeddings"]
