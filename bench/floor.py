"""The minimal Python passthrough proxy: the floor any Starlette/uvicorn/aiohttp gateway pays.

Usage: python bench/floor.py --port P --upstream-json URL --upstream-stream URL
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


def build_app(json_url: str, stream_url: str) -> Starlette:
    """A Starlette app that forwards POST /v1/chat/completions to the upstream."""
    state: dict[str, aiohttp.ClientSession] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        async with aiohttp.ClientSession(connector=connector) as session:
            state["session"] = session
            yield

    async def chat(request: Request) -> Response:
        body = await request.body()
        stream = bool(orjson.loads(body).get("stream"))  # a real gateway parses the body too
        headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
        upstream = await state["session"].post(stream_url if stream else json_url, data=body, headers=headers)
        ctype = upstream.headers.get("Content-Type", "application/json")
        if not stream:
            async with upstream:
                data = await upstream.read()
            return Response(data, status_code=upstream.status, media_type=ctype)

        async def relay() -> AsyncIterator[bytes]:
            async with upstream:
                async for chunk in upstream.content.iter_any():
                    yield chunk

        return StreamingResponse(relay(), status_code=upstream.status, media_type=ctype)

    async def health(_request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-json", required=True)
    parser.add_argument("--upstream-stream", required=True)
    args = parser.parse_args()
    app = build_app(args.upstream_json, args.upstream_stream)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
