"""Handle → (adapter type, capability, base URL): the adapter's own appended path must rebuild the handle."""

from __future__ import annotations

import orjson
import pytest

from llmrelay.providers.base import Target
from llmrelay.providers.catalog import Route, origin_of, resolve_handle
from llmrelay.providers.registry import PROVIDERS
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest
from llmrelay.schemas.images import ImagesRequest

ORIGIN = "https://llm.example"


@pytest.mark.parametrize(
    ("handle", "route"),
    [
        ("/openai/v1/chat/completions", Route("openai", "chat", f"{ORIGIN}/openai/v1")),
        ("/anthropic/v1/messages", Route("anthropic", "chat", f"{ORIGIN}/anthropic")),
        ("/cohere/v2/chat", Route("cohere", "chat", f"{ORIGIN}/cohere")),
        ("/fireworks/chat/completions", Route("openai", "chat", f"{ORIGIN}/fireworks")),
        ("/gigachat/api/v1/chat/completions", Route("openai", "chat", f"{ORIGIN}/gigachat/api/v1")),
        ("/internal/deepseek-r1-runtime/v1/chat/completions",
         Route("openai", "chat", f"{ORIGIN}/internal/deepseek-r1-runtime/v1")),
        ("/google/v1beta/models/gemini-2.5-flash:generateContent",
         Route("gemini", "chat", f"{ORIGIN}/google", model="models/gemini-2.5-flash")),
        ("/openai/v1/embeddings", Route("openai", "embeddings", f"{ORIGIN}/openai/v1")),
        ("/openai/v1/images/generations", Route("openai", "images", f"{ORIGIN}/openai/v1")),
        ("/ideogram/v1/ideogram-v3/generate", Route("ideogram", "images", f"{ORIGIN}/ideogram")),
        ("/recraft/v1/images/generations", Route("recraft", "images", f"{ORIGIN}/recraft/v1")),
        ("/raw/openai/v1/chat/completions", Route("openai", "chat", f"{ORIGIN}/raw/openai/v1", wrapped=False)),
        ("/raw/anthropic/v1/messages", Route("anthropic", "chat", f"{ORIGIN}/raw/anthropic", wrapped=False)),
    ],
)  # fmt: skip
def test_resolve(handle: str, route: Route) -> None:
    assert resolve_handle(handle, ORIGIN) == route


@pytest.mark.parametrize(
    "handle",
    ["/openai/v1/audio/speech", "/openai/v1/audio/transcriptions", "/openai/v1/realtime", "/search", "/videos", ""],
)
def test_handles_no_adapter_fits(handle: str) -> None:
    assert resolve_handle(handle, ORIGIN) is None


CHAT = ChatRequest.parse(orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))


@pytest.mark.parametrize(
    "handle",
    [
        "/openai/v1/chat/completions",
        "/anthropic/v1/messages",
        "/cohere/v2/chat",
        "/fireworks/chat/completions",
        "/google/v1beta/models/gemini-2.5-flash:generateContent",
        "/raw/anthropic/v1/messages",
    ],
)
def test_the_adapter_rebuilds_the_handle_and_adds_no_key(handle: str) -> None:
    """Upstream URL = origin + handle, and with api_key None no adapter adds auth of its own."""
    route = resolve_handle(handle, ORIGIN)
    assert route is not None
    adapter = PROVIDERS[route.provider_type].chat
    assert adapter is not None
    target = Target("eliza", route.base_url, route.model or "m", headers={"authorization": "OAuth y0_t"})
    built = adapter.build_request(CHAT, target)
    assert built.url == ORIGIN + handle
    headers = {k.lower(): v for k, v in built.headers.items()}
    assert headers["authorization"] == "OAuth y0_t"
    assert not {"x-api-key", "x-goog-api-key", "api-key"} & set(headers)


def test_embeddings_handle_rebuilds_the_url() -> None:
    route = resolve_handle("/openai/v1/embeddings", ORIGIN)
    assert route is not None
    adapter = PROVIDERS["openai"].embeddings
    assert adapter is not None
    req = EmbeddingsRequest.parse(b'{"model": "e", "input": "hi"}')
    assert adapter.build_request(req, Target("eliza", route.base_url, "e")).url == f"{ORIGIN}/openai/v1/embeddings"


@pytest.mark.parametrize(
    "handle", ["/openai/v1/images/generations", "/ideogram/v1/ideogram-v3/generate", "/recraft/v1/images/generations"]
)
def test_images_handles_rebuild_the_url_and_add_no_key(handle: str) -> None:
    route = resolve_handle(handle, ORIGIN)
    assert route is not None
    adapter = PROVIDERS[route.provider_type].images
    assert adapter is not None
    req = ImagesRequest.parse(b'{"model": "m", "prompt": "a fox"}')
    built = adapter.build_request(req, Target("eliza", route.base_url, "m", headers={"authorization": "OAuth y0_t"}))
    headers = {k.lower(): v for k, v in built.headers.items()}
    assert built.url == ORIGIN + handle
    assert headers["authorization"] == "OAuth y0_t" and "api-key" not in headers


def test_gemini_stream_keeps_the_handle_path() -> None:
    route = resolve_handle("/google/v1beta/models/gemini-2.5-flash:generateContent", ORIGIN)
    assert route is not None and route.model is not None
    stream = ChatRequest.parse(orjson.dumps({**CHAT.body, "stream": True}))
    gemini = PROVIDERS["gemini"].chat
    assert gemini is not None
    built = gemini.build_request(stream, Target("eliza", route.base_url, route.model))
    assert built.url == f"{ORIGIN}/google/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://api.eliza.yandex.net/models", "https://api.eliza.yandex.net"),
        ("http://127.0.0.1:8123/v1/models?x=1", "http://127.0.0.1:8123"),
        ("HTTPS://Host.example", "HTTPS://Host.example"),
        ("ftp://host/models", None),
        ("https://user:pw@host/models", None),
        ("/models", None),
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
