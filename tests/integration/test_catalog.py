"""A remote model catalog end to end: the official `openai` SDK through the gateway to a fake catalog host.

The host serves the list (only with `Authorization: OAuth <token>`) and forwards each handle to a strict
vendor fake (OpenAI, Anthropic), wrapping JSON replies as `{"response": …, "cost": …}` (reference §7.3).
The gateway refreshes the list every 50 ms here; a test that changes the list waits until the host has
answered three more list requests: the gateway fetches one at a time, so by then it has applied a list
fetched after the change (no sleeps).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from tests.conftest import UPSTREAM_KEY, run_gateway, sdk
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.catalog import TOKEN, FakeCatalog, Mount
from tests.fakes.images_openai import FakeOpenAIImages
from tests.fakes.openai import FakeOpenAI, Status
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

ANTHROPIC_KEY = "sk-ant-test"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
MODELS: list[dict[str, Any]] = [
    {"model_version": "gpt-4o-mini", "model_family": "gpt-4", "vendor": "openai",
     "handle": "/openai/v1/chat/completions", "prompt_price_1k": 0.00015, "completion_price_1k": 0.0006},
    {"model_version": "claude-haiku-4-5-20251001", "model_family": "claude-4",
     "handle": "/anthropic/v1/messages", "prompt_price_1k": 0.001, "completion_price_1k": 0.005},
    {"model_version": "gpt-4o", "vendor": "openai", "handle": "/raw/openai/v1/chat/completions"},
    {"model_version": "dall-e-3", "model_family": "dall-e-3", "handle": "/openai/v1/images/generations"},
    {"model_version": "tts-1", "model_family": "tts", "handle": "/openai/v1/audio/speech"},
    {"model_version": "retired-x", "model_family": "x", "handle": "unavailable"},
]  # fmt: skip


Fakes = tuple[FakeOpenAI, FakeAnthropic, FakeOpenAIImages]


def host_for(
    openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic, images: FakeOpenAIImages, **options: Any
) -> FakeCatalog:
    bearer = {"authorization": f"Bearer {UPSTREAM_KEY}"}
    mounts = [
        Mount("/openai/v1", openai_fake.app, "/v1", bearer),
        Mount("/openai/v1/images", images.app, "/v1/images", bearer),
        Mount("/raw/openai/v1", openai_fake.app, "/v1", bearer, wrapped=False),
        Mount("/anthropic", anthropic_fake.app, "", {"x-api-key": ANTHROPIC_KEY}),
    ]
    return FakeCatalog(MODELS, mounts, **options)


def catalog_config(host: Server, **provider: Any) -> dict[str, Any]:
    settings = {"type": "catalog", "url": f"{host.base_url}/models", "token": TOKEN, "refresh_seconds": 0.05}
    return {"providers": {"eliza": {**settings, **provider}}}


def settle(host: FakeCatalog) -> None:
    """Wait until the gateway has applied a list fetched after now (see the module docstring)."""
    assert host.wait_for_lists(host.lists_served + 3, timeout=5), "the gateway stopped fetching the list"


def health(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/health", timeout=5)
    assert response.status_code == 200
    status: dict[str, Any] = response.json()["catalogs"]["eliza"]
    return status


@pytest.fixture(scope="module")
def fakes() -> Fakes:
    return FakeOpenAI(api_key=UPSTREAM_KEY), FakeAnthropic(api_key=ANTHROPIC_KEY), FakeOpenAIImages(UPSTREAM_KEY)


@pytest.fixture(scope="module")
def host_server(fakes: Fakes) -> Iterator[tuple[FakeCatalog, Server]]:
    host = host_for(*fakes)
    with serve_in_thread(host.app) as server:
        yield host, server


@pytest.fixture(scope="module")
def gateway(host_server: tuple[FakeCatalog, Server]) -> Iterator[Server]:
    with run_gateway(catalog_config(host_server[1])) as server:
        yield server


@pytest.fixture
def host(host_server: tuple[FakeCatalog, Server], fakes: Fakes) -> Iterator[FakeCatalog]:
    for fake in fakes:
        fake.reset()
    catalog = host_server[0]
    catalog.reset()
    yield catalog
    catalog.error_style = "wrapped"
    if catalog.outage or catalog.models != MODELS:
        catalog.outage = False
        catalog.set_models(MODELS)
        settle(catalog)


@pytest.fixture
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def test_wrapped_openai_model_non_stream(client: openai.OpenAI, host: FakeCatalog) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert reply.choices[0].message.content == "Hello from fake upstream"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    sent = host.requests[-1]
    assert sent.path == "/openai/v1/chat/completions"
    assert sent.headers["authorization"] == f"OAuth {TOKEN}"
    assert sent.json["model"] == "gpt-4o-mini"


def test_wrapped_openai_model_stream(client: openai.OpenAI, host: FakeCatalog) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake upstream"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert host.requests[-1].json["stream"] is True


def test_wrapped_anthropic_model(client: openai.OpenAI, host: FakeCatalog, fakes: Fakes) -> None:
    reply = client.chat.completions.create(model="claude-haiku-4-5-20251001", messages=HELLO, max_tokens=64)
    assert reply.choices[0].message.content == "Hello from fake Claude"
    assert reply.choices[0].finish_reason == "stop"
    assert_valid(reply.model_dump(exclude_unset=True), "CreateChatCompletionResponse")
    sent = host.requests[-1]
    assert sent.path == "/anthropic/v1/messages"
    assert sent.headers["authorization"] == f"OAuth {TOKEN}"
    assert "x-api-key" not in sent.headers  # no key of the gateway's own goes to the catalog host
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert fakes[1].requests[-1].json["messages"] == [{"role": "user", "content": "Say hello"}]


def test_wrapped_anthropic_model_stream(client: openai.OpenAI, host: FakeCatalog) -> None:
    stream = client.chat.completions.create(
        model="claude-haiku-4-5-20251001", messages=HELLO, max_tokens=64, stream=True
    )
    chunks = list(stream)
    for chunk in chunks:
        assert_valid(chunk.model_dump(exclude_unset=True), "CreateChatCompletionStreamResponse")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from fake Claude"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_raw_handle_passes_the_vendor_body_through(client: openai.OpenAI, host: FakeCatalog) -> None:
    reply = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert reply.id.startswith("chatcmpl-fake")  # the upstream's own id: the bytes came through untouched
    assert host.requests[-1].path == "/raw/openai/v1/chat/completions"


@pytest.mark.parametrize("style", ["wrapped", "plain"])
def test_vendor_error_is_unwrapped(client: openai.OpenAI, host: FakeCatalog, fakes: Fakes, style: Any) -> None:
    host.error_style = style
    fakes[0].plan(Status(429, headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert "Rate limit reached" in caught.value.message
    assert caught.value.response.headers["retry-after"] == "7"


def test_host_detail_error(client: openai.OpenAI, host: FakeCatalog, fakes: Fakes) -> None:
    host.error_style = "detail"
    fakes[1].plan(Status(529))
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="claude-haiku-4-5-20251001", messages=HELLO, max_tokens=8)
    assert caught.value.status_code == 529
    assert "Overloaded" in caught.value.message


def test_wrapped_image_model(client: openai.OpenAI, host: FakeCatalog, fakes: Fakes) -> None:
    reply = client.images.generate(model="dall-e-3", prompt="a red fox", response_format="b64_json")
    assert reply.data is not None and reply.data[0].b64_json
    assert_valid(reply.model_dump(exclude_unset=True), "ImagesResponse")
    sent = host.requests[-1]
    assert sent.path == "/openai/v1/images/generations" and sent.headers["authorization"] == f"OAuth {TOKEN}"
    assert fakes[2].requests[-1].path == "/v1/images/generations"


def test_models_lists_the_catalog(client: openai.OpenAI, host: FakeCatalog) -> None:
    models = {m.id: m for m in client.models.list()}
    assert {"gpt-4o-mini", "claude-haiku-4-5-20251001", "gpt-4o", "tts-1"} <= set(models)
    assert "retired-x" not in models
    assert models["gpt-4o-mini"].owned_by == "gpt-4"
    assert models["gpt-4o"].owned_by == "openai"
    assert models["gpt-4o-mini"].model_dump()["capabilities"]["chat"] is True
    assert not any(models["tts-1"].model_dump()["capabilities"].values())
    assert client.models.retrieve("claude-haiku-4-5-20251001").owned_by == "claude-4"


def test_a_handle_no_adapter_fits_is_a_400(client: openai.OpenAI, host: FakeCatalog) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tts-1", messages=HELLO)
    assert caught.value.code == "unsupported_capability"
    assert host.requests == []


def test_a_model_added_to_the_list_appears_after_the_refresh(client: openai.OpenAI, host: FakeCatalog) -> None:
    added = {"model_version": "gpt-4o-mini-2", "model_family": "gpt-4", "handle": "/openai/v1/chat/completions"}
    host.set_models([*MODELS, added])
    settle(host)
    assert "gpt-4o-mini-2" in {m.id for m in client.models.list()}


def test_an_outage_keeps_the_old_list(client: openai.OpenAI, host: FakeCatalog, gateway: Server) -> None:
    host.outage = True
    settle(host)
    status = health(gateway)
    assert status["state"] == "stale"
    assert status["last_error"] == "HTTP 503"
    assert status["models"] == 5 and status["age_seconds"] >= 0 and status["consecutive_failures"] >= 1
    assert "gpt-4o-mini" in {m.id for m in client.models.list()}
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
    host.outage = False
    settle(host)
    assert health(gateway)["state"] == "ok"


def test_a_failed_first_fetch_leaves_the_gateway_up(fakes: Fakes) -> None:
    host = host_for(*fakes)
    host.outage = True
    with serve_in_thread(host.app) as host_server, run_gateway(catalog_config(host_server)) as gateway:
        status = health(gateway)
        assert status["state"] == "unavailable" and status["last_error"] == "HTTP 503"
        assert status["models"] == 0 and status["age_seconds"] is None
        with sdk(gateway) as client:
            assert [m.id for m in client.models.list()] == []
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
            host.outage = False
            settle(host)
            assert health(gateway)["state"] == "ok"
            assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content


def test_the_list_needs_the_oauth_token(fakes: Fakes) -> None:
    host = host_for(*fakes)
    with serve_in_thread(host.app) as host_server, run_gateway(catalog_config(host_server, token="wrong")) as gateway:
        settle(host)
        status = health(gateway)
        assert status["state"] == "unavailable" and status["last_error"] == "HTTP 401"
        assert "wrong" not in httpx.get(f"{gateway.base_url}/health", timeout=5).text


def test_a_bare_list_and_a_prefix(fakes: Fakes) -> None:
    host = host_for(*fakes, bare_list=True)
    with (
        serve_in_thread(host.app) as host_server,
        run_gateway(catalog_config(host_server, prefix="eliza/")) as gateway,
        sdk(gateway) as client,
    ):
        assert "eliza/gpt-4o-mini" in {m.id for m in client.models.list()}
        reply = client.chat.completions.create(model="eliza/gpt-4o-mini", messages=HELLO)
        assert reply.choices[0].message.content == "Hello from fake upstream"
        assert host.requests[-1].json["model"] == "gpt-4o-mini"
        pinned = client.chat.completions.create(
            model="eliza/gpt-4o-mini", messages=HELLO, extra_body={"provider": "eliza"}
        )
        assert pinned.choices[0].message.content
        assert "provider" not in host.requests[-1].json
