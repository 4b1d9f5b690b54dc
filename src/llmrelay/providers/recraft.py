"""Image generation through Recraft's OpenAI-like API (`POST {base_url}/images/generations`, reference §9.3).

Recraft documents its API for the OpenAI SDK (base URL `https://external.api.recraft.ai/v1`,
`Authorization: Bearer <token>`; recraft.ai/docs/api-reference/endpoints), so the body keeps OpenAI's
field names; what differs is which values make sense.

    >>> RecraftImages().build_request(req, target).url
    'https://external.api.recraft.ai/v1/images/generations'

| OpenAI field | Recraft |
|---|---|
| `prompt`, `n`, `response_format` (`url` or `b64_json`) | the same field |
| `model` | the deployment's upstream model id (`recraftv3`, `recraftv2`, `recraftv4_1`, …) |
| `size` | the same field: Recraft takes `WxH` or `w:h` from its own list per model and rejects others itself; `auto` → not sent |
| `style` | passed when it is one of Recraft's styles (`realistic_image`, `digital_illustration`, `vector_illustration`, `icon`, …); OpenAI's `vivid` / `natural` → 400 |
| `quality` | `auto` → not sent; any other value → 400 (Recraft has no quality setting) |
| `background`, `moderation`, `output_format`, `output_compression` | 400: GPT image parameters with no Recraft equivalent |
| `user`, `provider` (llmrelay's own), `stream: false` | dropped |
| anything else (`substyle`, `style_id`, `negative_prompt`, `text_layout`, `controls`, …) | passed as sent: Recraft's own fields |

Reply: `created` and each image's `url` or `b64_json` (and `revised_prompt` if present) are kept;
Recraft's `image_id` and other fields of its own are left out of OpenAI's shape.

Errors: the body is plain text for some (recraft.ai/docs/api-reference/error-handling: 401
`request unauthorized`, 404 `404 page not found`) and JSON for others, with no documented schema. The
message is read from a JSON body's `message`, `error` or `detail`, else from the text; a JSON `code`
string is kept. The status is kept, 401 gets code `invalid_api_key`, and a 429 keeps `retry-after`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from llmrelay.errors import (
    InvalidRequestError,
    UnsupportedParameterError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import json_reply, retry_headers
from llmrelay.schemas.images import ImageData, ImagesRequest, ImagesResponse

_DROPPED = frozenset({"model", "user", "provider", "stream"})
_GPT_IMAGE_ONLY = frozenset({"background", "moderation", "output_format", "output_compression"})
_OPENAI_STYLES = frozenset({"vivid", "natural"})


class RecraftImages:
    """The images adapter: `ProviderSpec(…, images=RecraftImages())`."""

    passthrough: ClassVar[bool] = False

    def build_request(self, req: ImagesRequest, target: Target) -> UpstreamRequest:
        headers = {"content-type": "application/json", **target.headers}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        body = orjson.dumps(generate_body(req, target.model))
        return UpstreamRequest("POST", f"{target.base_url}/images/generations", headers, body)

    def parse_response(self, body: bytes, req: ImagesRequest, target: Target) -> ImagesResponse:
        reply = json_reply(body, "Recraft answered", an_object=False)
        items = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(items, list) or not items:
            raise UpstreamProtocolError("Recraft answered without a list of generated images.")
        data = [_image(item) for item in items]
        created = reply.get("created")
        if not isinstance(created, int) or isinstance(created, bool):
            created = req.created
        return {"created": created, "data": data}

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_recraft_error(status, headers, body)


def generate_body(req: ImagesRequest, model: str) -> dict[str, Any]:
    """Recraft's JSON body for an OpenAI request (the table above)."""
    out: dict[str, Any] = {"model": model}
    for name, value in req.body.items():
        if value is None or name in _DROPPED:
            continue
        if name in _GPT_IMAGE_ONLY:
            raise UnsupportedParameterError(
                f"'{name}' is a GPT image model parameter; Recraft has no equivalent.", param=name
            )
        out[name] = value
    if req.size == "auto":
        del out["size"]
    if req.quality is not None:
        if req.quality != "auto":
            raise UnsupportedParameterError(
                "Recraft has no 'quality' setting; leave it out or send 'auto'.", param="quality"
            )
        del out["quality"]
    if req.style in _OPENAI_STYLES:
        raise InvalidRequestError(
            f"Invalid value for 'style': {req.style!r} is an OpenAI style; Recraft takes its own styles "
            "(realistic_image, digital_illustration, vector_illustration, icon, …).",
            param="style",
            code="invalid_value",
        )
    return out


def _image(item: object) -> ImageData:
    if not isinstance(item, dict):
        raise UpstreamProtocolError("Recraft answered with an image entry that is not an object.")
    url, b64_json, revised = item.get("url"), item.get("b64_json"), item.get("revised_prompt")
    image: ImageData = {}
    if isinstance(url, str) and url:
        image["url"] = url
    elif isinstance(b64_json, str) and b64_json:
        image["b64_json"] = b64_json
    else:
        raise UpstreamProtocolError("Recraft answered with an image that has neither a URL nor base64 data.")
    if isinstance(revised, str):
        image["revised_prompt"] = revised
    return image


def map_recraft_error(status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    message, code = _read_error(body, status)
    kept = retry_headers(headers)
    if status == 401:
        code = "invalid_api_key"
    return UpstreamStatusError(status, message, code=code, headers=kept, raw=body)


def _read_error(body: bytes, status: int) -> tuple[str, str | None]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        code = parsed.get("code") if isinstance(parsed.get("code"), str) else None
        for key in ("message", "error", "detail"):
            value = parsed.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                return value, code
    text = body[:200].decode("utf-8", "replace").strip()
    return (text or f"Recraft answered HTTP {status}."), None
