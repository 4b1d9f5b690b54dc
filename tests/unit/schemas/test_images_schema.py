"""ImagesRequest.parse: OpenAI's default model when none is named, and 400s naming the parameter."""

from __future__ import annotations

import orjson
import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.schemas.images import ImagesRequest, token_usage


@pytest.mark.parametrize(
    ("body", "model"),
    [
        ({"prompt": "p"}, "dall-e-2"),
        ({"prompt": "p", "model": None}, "dall-e-2"),
        ({"prompt": "p", "size": "1024x1024", "style": "vivid"}, "dall-e-2"),
        ({"prompt": "p", "output_format": "webp"}, "gpt-image-1"),
        ({"prompt": "p", "background": "transparent"}, "gpt-image-1"),
        ({"prompt": "p", "model": "dall-e-3", "background": "opaque"}, "dall-e-3"),
    ],
)
def test_the_model_openai_would_pick(body: dict[str, object], model: str) -> None:
    assert ImagesRequest.parse(orjson.dumps(body)).model == model


def test_fields_are_read_and_kept() -> None:
    raw = orjson.dumps({"prompt": "p", "n": 2, "response_format": "b64_json", "extra": [1], "size": None})
    req = ImagesRequest.parse(raw, created=5)
    assert (req.n, req.response_format, req.size, req.created) == (2, "b64_json", None, 5)
    assert req.raw == raw and "extra" in req.body


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": ["a"]}, "prompt", "invalid_type"),
        ({"prompt": "  "}, "prompt", "invalid_value"),
        ({"prompt": "p", "model": 3}, "model", "invalid_type"),
        ({"prompt": "p", "n": True}, "n", "invalid_type"),
        ({"prompt": "p", "n": 0}, "n", "invalid_value"),
        ({"prompt": "p", "size": 1024}, "size", "invalid_type"),
        ({"prompt": "p", "output_compression": 101}, "output_compression", "invalid_value"),
        ({"prompt": "p", "response_format": "png"}, "response_format", "invalid_value"),
        ({"prompt": "p", "stream": True}, "stream", "unsupported_parameter"),
        ({"prompt": "p", "stream": "yes"}, "stream", "invalid_type"),
        ({"prompt": "p", "provider": 1}, "provider", "invalid_type"),
    ],
)
def test_bad_fields_are_400_naming_them(body: dict[str, object], param: str, code: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ImagesRequest.parse(orjson.dumps(body))
    assert (caught.value.param, caught.value.code) == (param, code)


def test_token_usage_for_accounting() -> None:
    usage = {
        "input_tokens": 50,
        "input_tokens_details": {"text_tokens": 50},
        "output_tokens": 1056,
        "total_tokens": 1106,
    }
    assert token_usage(usage) == {"prompt_tokens": 50, "completion_tokens": 1056, "total_tokens": 1106}
    assert token_usage(None) is None
