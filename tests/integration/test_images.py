"""POST /v1/images/generations through the gateway with the official SDK, against fakes of each image API.

OpenAI (passthrough), Ideogram 3.0 (multipart) and Recraft (OpenAI-like JSON): what the gateway
emits is validated against OpenAI's `ImagesResponse` schema, and what reached each fake is checked,
so every test shows both ends of the translation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from tests.conftest import closed_port, run_gateway, sdk
from tests.fakes.images import PNG_B64, Status
from tests.fakes.images_ideogram import CREATED_UNIX, ONE_UNSAFE_IMAGE, REJECTED_PROMPT, UNSAFE_IMAGES, FakeIdeogram
from tests.fakes.images_openai import FakeOpenAIImages
from tests.fakes.images_recraft import FakeRecraft
from tests.fakes.server import Server, serve_in_thread
from tests.openai_schema import assert_valid

OPENAI_KEY, IDEOGRAM_KEY, RECRAFT_KEY = "sk-images-test", "ik-images-test", "rc-images-test"
FOX = "A watercolor fox sitting in snow"


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Any]]:
    oa, ig, rc = FakeOpenAIImages(OPENAI_KEY), FakeIdeogram(IDEOGRAM_KEY), FakeRecraft(RECRAFT_KEY)
    with serve_in_thread(oa.app) as s1, serve_in_thread(ig.app) as s2, serve_in_thread(rc.app) as s3:
        yield {"openai": (oa, s1), "ideogram": (ig, s2), "recraft": (rc, s3)}


@pytest.fixture
def oa(fakes: dict[str, Any]) -> FakeOpenAIImages:
    fake: FakeOpenAIImages = fakes["openai"][0]
    fake.reset()
    return fake


@pytest.fixture
def ig(fakes: dict[str, Any]) -> FakeIdeogram:
    fake: FakeIdeogram = fakes["ideogram"][0]
    fake.reset()
    return fake


@pytest.fixture
def rc(fakes: dict[str, Any]) -> FakeRecraft:
    fake: FakeRecraft = fakes["recraft"][0]
    fake.reset()
    return fake


@pytest.fixture(scope="module")
def gateway(fakes: dict[str, Any]) -> Iterator[Server]:
    url = {name: server.base_url for name, (_, server) in fakes.items()}
    config = {
        "providers": {
            "oa": {"type": "openai", "base_url": f"{url['openai']}/v1", "api_key": OPENAI_KEY},
            "ig": {"type": "ideogram", "base_url": url["ideogram"], "api_key": IDEOGRAM_KEY},
            "rc": {"type": "recraft", "base_url": f"{url['recraft']}/v1", "api_key": RECRAFT_KEY},
            "rc-bad-key": {"type": "recraft", "base_url": f"{url['recraft']}/v1", "api_key": "rc-wrong"},
            "claude": {"type": "anthropic", "base_url": f"http://127.0.0.1:{closed_port()}", "api_key": "x"},
        },
        "models": [
            {"name": "dall-e-3", "provider": "oa"},
            {"name": "dall-e-2", "provider": "oa"},
            {"name": "painter", "provider": "oa", "model": "gpt-image-1"},
            {"name": "ideogram", "provider": "ig", "model": "ideogram-v3"},
            {"name": "recraft", "provider": "rc", "model": "recraftv3"},
            {"name": "recraft-bad-key", "provider": "rc-bad-key", "model": "recraftv3"},
            {"name": "claude", "provider": "claude", "model": "claude-sonnet-4-5"},
            {"name": "gpt-4o-mini", "provider": "oa", "capabilities": {"images": False}},
        ],
    }
    with run_gateway(config) as server:
        yield server


@pytest.fixture(scope="module")
def client(gateway: Server) -> Iterator[openai.OpenAI]:
    with sdk(gateway) as c:
        yield c


def generate(client: openai.OpenAI, **params: Any) -> dict[str, Any]:
    """Generate through the SDK; the raw JSON, checked against OpenAI's schema and the SDK's parse."""
    raw = client.images.with_raw_response.generate(**params)
    body: dict[str, Any] = raw.http_response.json()
    assert_valid(body, "ImagesResponse")
    assert raw.parse().created == body["created"]
    return body


def message_of(error: openai.APIStatusError) -> str:
    """The `error.message` the gateway sent (the SDK's own `message` adds "Error code: …")."""
    message: str = error.response.json()["error"]["message"]
    return message


def only(fake: FakeOpenAIImages | FakeIdeogram | FakeRecraft) -> Any:
    (request,) = fake.requests
    return request


def test_dall_e_3_url_passes_through(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    params = {"size": "1792x1024", "quality": "hd", "style": "natural", "response_format": "url", "user": "u-1"}
    body = generate(client, model="dall-e-3", prompt=FOX, **params)
    assert body["data"][0]["url"].startswith("https://images.fake.test/dall-e-3/")
    assert body["data"][0]["revised_prompt"] == f"{FOX}, rendered in detail"
    request = only(oa)
    assert request.path == "/v1/images/generations"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.json == {"model": "dall-e-3", "prompt": FOX, **params}


def test_dall_e_3_b64_json(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    body = generate(client, model="dall-e-3", prompt=FOX, response_format="b64_json")
    assert body["data"][0]["b64_json"] == PNG_B64
    assert "url" not in body["data"][0]


def test_gpt_image_params_usage_and_model_alias(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    extra = {"background": "transparent", "output_format": "webp", "output_compression": 80, "moderation": "low"}
    body = generate(client, model="painter", prompt=FOX, n=2, size="1536x1024", quality="high", **extra)
    assert [d["b64_json"] for d in body["data"]] == [PNG_B64, PNG_B64]
    assert body["usage"]["output_tokens"] == 2 * 1056
    assert body["size"] == "1536x1024" and body["background"] == "transparent"
    sent = only(oa).json
    assert sent["model"] == "gpt-image-1" and sent["n"] == 2
    assert {k: sent[k] for k in extra} == extra


def test_no_model_is_routed_as_openais_default(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    body = generate(client, prompt=FOX, size="512x512")
    assert len(body["data"]) == 1
    assert only(oa).json == {"model": "dall-e-2", "prompt": FOX, "size": "512x512"}


def test_openai_rate_limit_keeps_retry_after(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    oa.plan(Status(429, headers={"retry-after": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model="dall-e-3", prompt=FOX)
    assert caught.value.response.headers["retry-after"] == "7"


def test_openai_400_keeps_param_and_code(client: openai.OpenAI, oa: FakeOpenAIImages) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="dall-e-3", prompt=FOX, n=2)
    assert caught.value.param == "n"
    with pytest.raises(openai.BadRequestError) as safety:
        client.images.generate(model="dall-e-3", prompt="a forbidden scene")
    assert safety.value.code == "content_policy_violation"
    assert_valid(safety.value.response.json(), "ErrorResponse")


def test_ideogram_translates_both_ways(client: openai.OpenAI, ig: FakeIdeogram) -> None:
    body = generate(client, model="ideogram", prompt=FOX, n=2, size="1536x1024", quality="hd", style="natural")
    assert body["created"] == CREATED_UNIX
    urls = [d["url"] for d in body["data"]]
    assert len(set(urls)) == 2 and all(u.startswith("https://ideogram.ai/api/images/ephemeral/") for u in urls)
    assert body["data"][0]["revised_prompt"] == f"{FOX}, in soft watercolor"
    request = only(ig)
    assert request.path == "/v1/ideogram-v3/generate"
    assert request.headers["api-key"] == IDEOGRAM_KEY
    assert "authorization" not in request.headers
    assert request.form() == {
        "prompt": [FOX],
        "num_images": ["2"],
        "aspect_ratio": ["3x2"],
        "rendering_speed": ["QUALITY"],
        "style_type": ["REALISTIC"],
    }


def test_ideogram_native_fields_and_exact_resolution(client: openai.OpenAI, ig: FakeIdeogram) -> None:
    native = {"negative_prompt": "blur", "magic_prompt": "OFF", "seed": 7, "style_codes": ["AAAAAAAA", "BBBBBBBB"]}
    body = generate(client, model="ideogram", prompt=FOX, size="1024x1024", extra_body=native)
    assert body["data"][0]["revised_prompt"] == FOX
    form = only(ig).form()
    assert form["resolution"] == ["1024x1024"] and "aspect_ratio" not in form
    assert form["style_codes"] == ["AAAAAAAA", "BBBBBBBB"] and form["seed"] == ["7"]


def test_ideogram_b64_json_is_refused_before_any_io(client: openai.OpenAI, ig: FakeIdeogram) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="ideogram", prompt=FOX, response_format="b64_json")
    assert caught.value.param == "response_format"
    assert ig.requests == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"size": "333x777"}, "size"),
        ({"quality": "ultra"}, "quality"),
        ({"style": "cubist"}, "style"),
        ({"background": "transparent"}, "background"),
        ({"extra_body": {"color_palette": {"name": "EMBER"}}}, "color_palette"),
        ({"quality": "hd", "extra_body": {"rendering_speed": "TURBO"}}, "rendering_speed"),
    ],
)
def test_ideogram_bad_params_are_400_before_any_io(
    client: openai.OpenAI, ig: FakeIdeogram, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="ideogram", prompt=FOX, **params)
    assert caught.value.param == param
    assert ig.requests == []


def test_ideogram_rate_limit_keeps_retry_after(client: openai.OpenAI, ig: FakeIdeogram) -> None:
    ig.plan(Status(429, headers={"retry-after": "3"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.images.generate(model="ideogram", prompt=FOX)
    assert caught.value.response.headers["retry-after"] == "3"
    assert message_of(caught.value) == "Too many requests."


def test_ideogram_safety_rejections(client: openai.OpenAI, ig: FakeIdeogram) -> None:
    with pytest.raises(openai.BadRequestError) as rejected:
        client.images.generate(model="ideogram", prompt=f"a {REJECTED_PROMPT}")
    assert (rejected.value.code, rejected.value.param) == ("content_policy_violation", "prompt")
    assert message_of(rejected.value) == "Prompt failed the safety check."
    with pytest.raises(openai.BadRequestError) as unsafe:
        client.images.generate(model="ideogram", prompt=f"two {UNSAFE_IMAGES}", n=2)
    assert unsafe.value.code == "content_policy_violation"
    body = generate(client, model="ideogram", prompt=f"{ONE_UNSAFE_IMAGE} of a fox", n=2)
    assert len(body["data"]) == 1 and body["data"][0]["url"].endswith("-1.png?exp=1")


def test_recraft_url_and_b64_json(client: openai.OpenAI, rc: FakeRecraft) -> None:
    body = generate(client, model="recraft", prompt=FOX, n=3, size="1024x1024", style="digital_illustration")
    assert len(body["data"]) == 3 and all(set(d) == {"url"} for d in body["data"])
    request = only(rc)
    assert request.headers["authorization"] == f"Bearer {RECRAFT_KEY}"
    assert request.json == {
        "model": "recraftv3",
        "prompt": FOX,
        "n": 3,
        "size": "1024x1024",
        "style": "digital_illustration",
    }
    rc.reset()
    encoded = generate(
        client, model="recraft", prompt=FOX, response_format="b64_json", extra_body={"substyle": "2d_art_poster"}
    )
    assert encoded["data"] == [{"b64_json": PNG_B64}]
    assert only(rc).json["substyle"] == "2d_art_poster"


@pytest.mark.parametrize(
    ("params", "param"),
    [({"style": "vivid"}, "style"), ({"quality": "hd"}, "quality"), ({"output_format": "webp"}, "output_format")],
)
def test_recraft_openai_only_values_are_400_before_any_io(
    client: openai.OpenAI, rc: FakeRecraft, params: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="recraft", prompt=FOX, **params)
    assert caught.value.param == param
    assert rc.requests == []


def test_recraft_errors_are_mapped(client: openai.OpenAI, rc: FakeRecraft) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="recraft", prompt=FOX, n=7)
    assert (message_of(caught.value), caught.value.code) == ("n must be between 1 and 6", "invalid_n")
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        client.images.generate(model="recraft-bad-key", prompt=FOX)
    assert message_of(unauthorized.value) == "request unauthorized"
    assert unauthorized.value.code == "invalid_api_key"
    rc.plan(Status(503, body=b"upstream overloaded", content_type="text/plain", headers={"retry-after": "2"}))
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.images.generate(model="recraft", prompt=FOX)
    assert overloaded.value.status_code == 503 and message_of(overloaded.value) == "upstream overloaded"
    assert overloaded.value.response.headers["retry-after"] == "2"


@pytest.mark.parametrize("model", ["claude", "gpt-4o-mini"])
def test_a_model_without_images_is_400_before_any_io(client: openai.OpenAI, oa: FakeOpenAIImages, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model=model, prompt=FOX)
    assert (caught.value.code, caught.value.param) == ("unsupported_capability", "model")
    assert oa.requests == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "dall-e-3"}, "prompt"),
        ({"model": "dall-e-3", "prompt": 3}, "prompt"),
        ({"model": "dall-e-3", "prompt": FOX, "n": 0}, "n"),
        ({"model": "dall-e-3", "prompt": FOX, "response_format": "png"}, "response_format"),
        ({"model": "dall-e-3", "prompt": FOX, "stream": True}, "stream"),
        ({"model": "", "prompt": FOX}, "model"),
    ],
)
def test_bad_requests_are_400_naming_the_param(
    gateway: Server, oa: FakeOpenAIImages, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(f"{gateway.base_url}/v1/images/generations", json=body)
    assert response.status_code == 400
    assert_valid(response.json(), "ErrorResponse")
    assert response.json()["error"]["param"] == param
    assert oa.requests == []


def test_framework_route_and_models_capabilities(gateway: Server, rc: FakeRecraft) -> None:
    response = httpx.post(
        f"{gateway.base_url}/v1/images/generations",
        json={"model": "recraft", "prompt": FOX},
        headers={"origin": "http://app.example"},  # the fast lane leaves requests with an Origin to FastAPI
    )
    assert response.status_code == 200
    assert_valid(response.json(), "ImagesResponse")
    models = {m["id"]: m for m in httpx.get(f"{gateway.base_url}/v1/models").json()["data"]}
    assert models["recraft"]["capabilities"] == {
        "chat": False,
        "completions": False,
        "embeddings": False,
        "images": True,
    }
    assert models["gpt-4o-mini"]["capabilities"]["images"] is False
