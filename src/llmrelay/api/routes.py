"""Every URL of the service on one screen.

| method | path                         | handler                        |
|--------|------------------------------|--------------------------------|
| GET    | /health[?probe=1]            | api.ops.health                 |
| GET    | /metrics                     | api.ops.metrics                |
| GET    | /v1/models                   | api.v1.models.list_models      |
| GET    | /v1/models/{id:path}         | api.v1.models.retrieve_model   |
| POST   | /v1/chat/completions         | api.v1.chat.create_chat_completion (fast lane) |
| POST   | /v1/embeddings               | api.v1.embeddings.create_embeddings (fast lane) |
| POST   | /v1/completions              | api.v1.completions.create_completion (fast lane) |
| POST   | /v1/images/generations       | api.v1.images.create_images (fast lane) |
| POST   | /v1/messages                 | api.v1.messages.create_message_route (Anthropic's Messages API) |
| POST   | /v1/messages/count_tokens    | api.v1.messages.count_tokens_route |
| POST   | /v1/files                    | api.v1.files.create_file (multipart, streamed to the store) |
| GET    | /v1/files                    | api.v1.files.list_files        |
| GET    | /v1/files/{id}               | api.v1.files.retrieve_file     |
| GET    | /v1/files/{id}/content       | api.v1.files.file_content      |
| DELETE | /v1/files/{id}               | api.v1.files.delete_file       |
| POST   | /v1/responses                | api.v1.responses.create_response (passthrough or translated; SSE) |
| GET    | /v1/responses/{id}           | api.v1.responses.retrieve_response |
| DELETE | /v1/responses/{id}           | api.v1.responses.delete_response |
| GET    | /v1/responses/{id}/input_items | api.v1.responses.list_input_items |
| *      | /v1/assistants[/{id}]        | api.v1.assistants (POST create, GET list, GET, POST modify, DELETE) |
| POST   | /v1/threads/runs             | api.v1.runs.create_thread_and_run (JSON or thread.* SSE) |
| *      | /v1/threads[/{id}]           | api.v1.threads (POST create, GET, POST modify, DELETE) |
| *      | /v1/threads/{id}/messages[/{id}] | api.v1.threads (POST create, GET list, GET, POST modify, DELETE) |
| *      | /v1/threads/{id}/runs[/{id}] | api.v1.runs (POST create, GET list, GET, POST modify; JSON or SSE) |
| POST   | /v1/threads/{id}/runs/{id}/cancel | api.v1.runs.cancel_run      |
| POST   | /v1/threads/{id}/runs/{id}/submit_tool_outputs | api.v1.runs.submit_tool_outputs (JSON or SSE) |
| GET    | /v1/threads/{id}/runs/{id}/steps[/{id}] | api.v1.runs.list_steps, retrieve_step |
| *      | /admin/keys[/{id}[/revoke|/rotate]] | api.admin.keys (POST, GET, PATCH, DELETE) |
| GET    | /admin/usage                 | api.admin.usage.usage_summary  |
| POST   | /admin/purge                 | api.admin.purge.purge (files and threads older than a cutoff) |
| GET    | /docs, /openapi.json         | FastAPI                        |
"""

from __future__ import annotations

from fastapi import FastAPI

from llmrelay.api import ops
from llmrelay.api.admin import keys as admin_keys
from llmrelay.api.admin import purge as admin_purge
from llmrelay.api.admin import usage as admin_usage
from llmrelay.api.v1 import assistants, chat, completions, embeddings, files, images, models, responses, runs, threads
from llmrelay.api.v1 import messages as anthropic_messages


def include(app: FastAPI) -> None:
    app.include_router(ops.router, tags=["operations"])
    app.include_router(models.router, tags=["models"])
    app.include_router(chat.router, tags=["chat"])
    app.include_router(embeddings.router, tags=["embeddings"])
    app.include_router(completions.router, tags=["completions"])
    app.include_router(images.router, tags=["images"])
    app.include_router(anthropic_messages.router, tags=["messages"])
    app.include_router(files.router, tags=["files"])
    app.include_router(responses.router, tags=["responses"])
    app.include_router(assistants.router, tags=["assistants"])
    app.include_router(runs.router, tags=["assistants"])  # before threads: /v1/threads/runs is not a thread id
    app.include_router(threads.router, tags=["assistants"])
    app.include_router(admin_keys.router, tags=["admin"])
    app.include_router(admin_usage.router, tags=["admin"])
    app.include_router(admin_purge.router, tags=["admin"])
