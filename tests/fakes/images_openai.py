"""A strict fake of OpenAI's `POST /v1/images/generations` (reference §9.1), for dall-e-2, dall-e-3 and gpt-image-1.

    fake = FakeOpenAIImages(api_key="sk-upstream-test")
    with serve_in_thread(fake.app) as server:
        ...                                      # base_url f"{server.base_url}/v1"

Per-model parameters follow openai-python `types/image_generate_params.py`: dall-e-3 takes only n=1,
its three sizes, `quality` standard/hd and `style`; gpt-image-1 refuses `response_format` and `style`
and always answers base64 with `usage`; the GPT-only parameters are refused for the DALL·E models.
A prompt containing FORBIDDEN gets the safety system's 400. Error bodies are OpenAI's envelope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tests.fakes.images import PNG_B64, ImageFake, Reply, Status
from tests.fakes.openai_validate import ApiError, check_auth, parse_json_body

FORBIDDEN = "forbidden"
CREATED = 1733014000
PARAMS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "quality",
        "style",
        "response_format",
        "background",
        "moderation",
        "output_format",
        "output_compression",
        "partial_images",
        "stream",
        "user",
        "safety_identifier",
    }
)
GPT_ONLY = ("background", "moderation", "output_format", "output_compression", "partial_images")
SIZES = {
    "dall-e-2": ("256x256", "512x512", "1024x1024"),
    "dall-e-3": ("1024x1024", "1792x1024", "1024x1792"),
    "gpt-image-1": ("1024x1024", "1536x1024", "1024x1536", "auto"),
}
QUALITIES = {
    "dall-e-2": ("standard",),
    "dall-e-3": ("standard", "hd"),
    "gpt-image-1": ("low", "medium", "high", "auto"),
}
_SAFETY = ApiError(
    400,
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not "
    "allowed by our safety system.",
    "image_generation_user_error",
    code="content_policy_violation",
)
_DEFAULT_ERRORS = {
    401: ApiError(401, "Incorrect API key provided.", code="invalid_api_key"),
    404: ApiError(404, "The model does not exist or you do not have access to it.", code="model_not_found"),
    429: ApiError(429, "Rate limit reached for images per minute.", "requests", code="rate_limit_exceeded"),
    500: ApiError(500, "The server had an error while processing your request.", "server_error"),
    503: ApiError(503, "The server is overloaded or not ready yet.", "server_error"),
}


class FakeOpenAIImages(ImageFake):
    route: ClassVar[tuple[str, str]] = ("POST", "/v1/images/generations")

    def answer(self, headers: dict[str, str], body: bytes, directive: Status | None, number: int) -> Reply:
        error = check_auth(headers, self.api_key)
        payload: Any = None
        if error is None:
            payload, error = parse_json_body(headers, body)
        if error is None:
            error = validate(payload)
        if error is not None:
            return _reply(error)
        if directive is not None:
            return self.planned(directive)
        return Reply.json(200, images_body(payload, number))

    def error_body(self, status: int) -> Reply:
        kind = "server_error" if status >= 500 else "invalid_request_error"
        return _reply(_DEFAULT_ERRORS.get(status, ApiError(status, f"Fake upstream error {status}.", kind)))

    def not_found(self, scope: Mapping[str, Any]) -> Reply:
        return _reply(ApiError(404, f"Invalid URL ({scope['method']} {scope['path']})"))


def default_model(body: Mapping[str, Any]) -> str:
    return "gpt-image-1" if any(body.get(name) is not None for name in GPT_ONLY) else "dall-e-2"


def validate(body: dict[str, Any]) -> ApiError | None:
    unknown = sorted(set(body) - PARAMS)
    if unknown:
        return ApiError(400, f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0])
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return ApiError(400, "Missing required parameter: 'prompt'.", param="prompt", code="missing_required_parameter")
    model = body.get("model") or default_model(body)
    if model not in SIZES:
        return ApiError(
            404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
        )
    return _check_model_params(model, body) or (_SAFETY if FORBIDDEN in prompt.lower() else None)


def _check_model_params(model: str, body: dict[str, Any]) -> ApiError | None:
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 10:
        return _invalid("n", f"Invalid 'n': {n!r}; it must be between 1 and 10.")
    if model == "dall-e-3" and n != 1:
        return _invalid("n", "You must provide n=1 for this model.")
    for name, allowed in (("size", SIZES[model]), ("quality", QUALITIES[model])):
        if body.get(name) is not None and body[name] not in allowed:
            return _invalid(name, f"Invalid value for '{name}': {body[name]!r}. Supported values are: {allowed}.")
    style = body.get("style")
    if style is not None and (model != "dall-e-3" or style not in ("vivid", "natural")):
        return _invalid("style", f"Invalid value for 'style' with {model}: {style!r}.")
    if model == "gpt-image-1":
        if body.get("response_format") is not None:
            return _invalid("response_format", "Unknown parameter: 'response_format'.")
        return None
    if body.get("response_format", "url") not in ("url", "b64_json"):
        return _invalid("response_format", "Invalid value for 'response_format'.")
    given = [name for name in GPT_ONLY if body.get(name) is not None]
    return _invalid(given[0], f"Unknown parameter: '{given[0]}'.") if given else None


def images_body(body: dict[str, Any], number: int) -> dict[str, Any]:
    """A successful answer: URLs (or base64) for the DALL·E models, base64 with usage for gpt-image-1."""
    model = body.get("model") or default_model(body)
    n = body.get("n") or 1
    if model == "gpt-image-1":
        return _gpt_image_body(body, n, number)
    data: list[dict[str, str]] = []
    for index in range(n):
        image = (
            {"b64_json": PNG_B64}
            if body.get("response_format") == "b64_json"
            else {"url": f"https://images.fake.test/{model}/{number}-{index}.png"}
        )
        if model == "dall-e-3":
            image["revised_prompt"] = f"{body['prompt']}, rendered in detail"
        data.append(image)
    return {"created": CREATED + number, "data": data}


def _gpt_image_body(body: dict[str, Any], n: int, number: int) -> dict[str, Any]:
    text_tokens = len(str(body["prompt"]).split())
    output_tokens = 1056 * n
    size = body.get("size") if body.get("size") not in (None, "auto") else "1024x1024"
    quality = body.get("quality") if body.get("quality") not in (None, "auto") else "medium"
    background = body.get("background") if body.get("background") not in (None, "auto") else "opaque"
    return {
        "created": CREATED + number,
        "background": background,
        "output_format": body.get("output_format") or "png",
        "quality": quality,
        "size": size,
        "data": [{"b64_json": PNG_B64} for _ in range(n)],
        "usage": {
            "input_tokens": text_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": 0},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + output_tokens,
        },
    }


def _invalid(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def _reply(error: ApiError) -> Reply:
    return Reply.json(error.status, error.envelope())
