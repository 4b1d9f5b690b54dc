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
| *      | /admin/keys[/{id}[/revoke|/rotate]] | api.admin.keys (POST, GET, PATCH, DELETE) |
| GET    | /admin/usage                 | api.admin.usage.usage_summary  |
| GET    | /docs, /openapi.json         | FastAPI                        |
"""

from __future__ import annotations

from fastapi import FastAPI

from llmrelay.api import ops
from llmrelay.api.admin import keys as admin_keys
from llmrelay.api.admin import usage as admin_usage
from llmrelay.api.v1 import chat, completions, embeddings, images, models


def include(app: FastAPI) -> None:
    app.include_router(ops.router, tags=["operations"])
    app.include_router(models.router, tags=["models"])
    app.include_router(chat.router, tags=["chat"])
    app.include_router(embeddings.router, tags=["embeddings"])
    app.include_router(completions.router, tags=["completions"])
    app.include_router(images.router, tags=["images"])
    app.include_router(admin_keys.router, tags=["admin"])
    app.include_router(admin_usage.router, tags=["admin"])
