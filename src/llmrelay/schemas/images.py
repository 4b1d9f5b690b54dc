"""Image generation wire shapes (reference §9.1) and the parsed request the pipeline carries.

    >>> req = ImagesRequest.parse(b'{"prompt": "A watercolor fox", "n": 2}')
    >>> req.model, req.n, req.response_format
    ('dall-e-2', 2, None)

A request without `model` gets the model OpenAI's API picks: `dall-e-2`, or `gpt-image-1` when a
parameter only the GPT image models take is present (openai-python `types/image_generate_params.py`,
`model`: "Defaults to `dall-e-2` unless a parameter specific to the GPT image models is used"). The
gateway routes that name like any other model id, so an operator who wants such clients served gives
the name a `models` entry; otherwise they get OpenAI's 404 `model_not_found` naming it.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.schemas.chat import Usage, parse_json_object

ResponseFormat = Literal["url", "b64_json"]
DEFAULT_MODEL = "dall-e-2"
GPT_IMAGE_DEFAULT_MODEL = "gpt-image-1"
GPT_IMAGE_ONLY = ("background", "moderation", "output_format", "output_compression", "partial_images")
"""Parameters only the GPT image models take: OpenAI's API defaults to one of those models when it sees them."""
_STRING_FIELDS = ("size", "quality", "style", "background", "output_format", "moderation", "user", "provider")


class ImagesRequestBody(TypedDict, total=False):
    model: str
    prompt: str
    n: int
    size: str
    quality: str
    style: str
    response_format: ResponseFormat
    background: str
    output_format: str
    output_compression: int
    moderation: str
    user: str
    stream: bool
    provider: str


class ImageData(TypedDict, total=False):
    """One image: `url` or `b64_json`, and the prompt the model actually used when it rewrote it."""

    url: str
    b64_json: str
    revised_prompt: str


class ImagesInputTokensDetails(TypedDict):
    text_tokens: int
    image_tokens: int


class ImagesUsage(TypedDict):
    """Token usage, which only the GPT image models report."""

    input_tokens: int
    input_tokens_details: ImagesInputTokensDetails
    output_tokens: int
    total_tokens: int


class ImagesResponse(TypedDict):
    created: int
    data: list[ImageData]
    usage: NotRequired[ImagesUsage]
    background: NotRequired[str]
    output_format: NotRequired[str]
    quality: NotRequired[str]
    size: NotRequired[str]


class ImagesRequest:
    """A validated image generation request; every field the client sent stays in `body`.

    Optional fields sent as `null` read as absent. `created` is when the gateway received the request:
    the `created` of a reply whose upstream gives no usable time.
    """

    __slots__ = (
        "background",
        "body",
        "created",
        "model",
        "moderation",
        "n",
        "output_format",
        "prompt",
        "quality",
        "raw",
        "response_format",
        "size",
        "style",
        "user",
    )

    def __init__(self, raw: bytes, body: ImagesRequestBody, model: str, created: int = 0) -> None:
        self.raw = raw
        self.body = body
        self.model = model
        self.created = created
        self.prompt: str = body["prompt"]
        self.n: int | None = body.get("n")
        self.size: str | None = body.get("size")
        self.quality: str | None = body.get("quality")
        self.style: str | None = body.get("style")
        self.response_format: ResponseFormat | None = body.get("response_format")
        self.background: str | None = body.get("background")
        self.output_format: str | None = body.get("output_format")
        self.moderation: str | None = body.get("moderation")
        self.user: str | None = body.get("user")

    @classmethod
    def parse(cls, raw: bytes, *, created: int = 0) -> ImagesRequest:
        """Parse and validate what the relay and the adapters rely on; InvalidRequestError names `param`."""
        body = parse_json_object(raw)
        _check_prompt(body.get("prompt"))
        model = body.get("model")
        if model is None:
            gpt_only = any(body.get(name) is not None for name in GPT_IMAGE_ONLY)
            model = GPT_IMAGE_DEFAULT_MODEL if gpt_only else DEFAULT_MODEL
        elif not isinstance(model, str) or not model:
            raise _invalid_type("model", model, "a non-empty string")
        for name in _STRING_FIELDS:
            if body.get(name) is not None and not isinstance(body[name], str):
                raise _invalid_type(name, body[name], "a string")
        _check_int(body, "n", 1, None)
        _check_int(body, "output_compression", 0, 100)
        if body.get("response_format") not in (None, "url", "b64_json"):
            raise InvalidRequestError(
                f"Invalid value for 'response_format': {body['response_format']!r}; expected 'url' or 'b64_json'.",
                param="response_format",
                code="invalid_value",
            )
        _check_stream(body.get("stream"))
        return cls(raw, cast(ImagesRequestBody, body), model, created)


def token_usage(usage: object) -> Usage | None:
    """An images `usage` object as the token counts accounting keeps (input → prompt, output → completion)."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = _count(usage.get("input_tokens")), _count(usage.get("output_tokens"))
    total = _count(usage.get("total_tokens")) or prompt + completion
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _check_prompt(prompt: object) -> None:
    if prompt is None:
        raise InvalidRequestError(
            "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter"
        )
    if not isinstance(prompt, str):
        raise _invalid_type("prompt", prompt, "a string")
    if not prompt.strip():
        raise InvalidRequestError("Invalid 'prompt': it must not be empty.", param="prompt", code="invalid_value")


def _check_int(body: dict[str, Any], name: str, low: int, high: int | None) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid_type(name, value, "an integer")
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise InvalidRequestError(
            f"Invalid value for '{name}': {value}; it must be {bounds}.", param=name, code="invalid_value"
        )


def _check_stream(stream: object) -> None:
    if stream is None or stream is False:
        return
    if stream is True:
        raise UnsupportedParameterError(
            "Streaming image generation ('stream': true) is not supported by this gateway; send 'stream': false.",
            param="stream",
        )
    raise _invalid_type("stream", stream, "a boolean")


_JSON_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _invalid_type(param: str, value: object, expected: str) -> InvalidRequestError:
    got = _JSON_TYPES.get(type(value), type(value).__name__)
    return InvalidRequestError(
        f"Invalid type for '{param}': expected {expected}, but got {got}.",
        param=param,
        code="invalid_type",
    )
