"""Image generation through Ideogram 3.0 (`POST {base_url}/v1/ideogram-v3/generate`, reference §9.2).

The request is multipart/form-data (developer.ideogram.ai, "Generate with Ideogram 3.0", whose OpenAPI
document lists every field below); the key goes in an `Api-Key` header.

    >>> IdeogramImages().build_request(req, target).headers["content-type"]
    'multipart/form-data; boundary=llmrelay-…'

| OpenAI field | Ideogram 3.0 form field |
|---|---|
| `prompt` | `prompt` |
| `model` | not sent: the endpoint is the model, so any model id routed here gets Ideogram 3.0 |
| `n` | `num_images` |
| `size` | `resolution` when Ideogram offers that exact size (e.g. `1024x1024`); else `aspect_ratio` when W×H reduces to one of its ratios (`1536x1024` → `3x2`, `512x512` → `1x1`, `16x9` → `16x9`); dall-e-3's `1792x1024` / `1024x1792` → `16x9` / `9x16`, the nearest ratio (reference §9.2); `auto` → not sent; any other size → 400 |
| `quality` | `rendering_speed`: `low` → `TURBO`; `medium`, `standard` → `DEFAULT`; `high`, `hd`, `xhigh`, `max` → `QUALITY`; `auto` → not sent; other values → 400 |
| `style` | `style_type`: `vivid` → `DESIGN`, `natural` → `REALISTIC` (the reference's convention); Ideogram's own `AUTO`, `GENERAL`, `REALISTIC`, `DESIGN`, `FICTION` pass in any case; other values → 400 |
| `response_format` | `url` (the default) is what Ideogram returns; `b64_json` → 400, since the gateway does not download images (Ideogram's API has no base64 option) |
| `background`, `moderation`, `output_format`, `output_compression` | 400: GPT image parameters with no Ideogram equivalent |
| `user`, `provider` (llmrelay's own), `stream: false` | dropped |
| Ideogram's own fields: `negative_prompt`, `seed`, `magic_prompt`, `num_images`, `rendering_speed`, `style_type`, `style_preset`, `aspect_ratio`, `resolution`, `style_codes` (a list: one form field per code) | passed as form fields; one that an OpenAI field above already set → 400 |
| anything else | 400 naming it (file fields such as `style_reference_images` cannot be sent as JSON) |

Reply: `created` (an ISO 8601 time) → Unix seconds; each image's `url` → `url` and its `prompt` (the
prompt after magic-prompt rewriting) → `revised_prompt`. Ideogram marks an image that failed its
safety check with `is_image_safe: false` and no URL; such images are left out, and when every image
is, the answer is OpenAI's 400 `content_policy_violation`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from llmrelay.errors import (
    InvalidRequestError,
    UnsupportedParameterError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from llmrelay.providers.base import Target, UpstreamRequest
from llmrelay.providers.common import json_reply
from llmrelay.providers.ideogram.errors import map_ideogram_error
from llmrelay.providers.ideogram.multipart import form_data
from llmrelay.schemas.images import ImageData, ImagesRequest, ImagesResponse

# ResolutionV3 and AspectRatioV3 in Ideogram's OpenAPI document for /v1/ideogram-v3/generate.
RESOLUTIONS = frozenset({
    "512x1536", "576x1408", "576x1472", "576x1536", "640x1344", "640x1408", "640x1472", "640x1536", "704x1152",
    "704x1216", "704x1280", "704x1344", "704x1408", "704x1472", "736x1312", "768x1088", "768x1216", "768x1280",
    "768x1344", "800x1280", "832x960", "832x1024", "832x1088", "832x1152", "832x1216", "832x1248", "864x1152",
    "896x960", "896x1024", "896x1088", "896x1120", "896x1152", "960x832", "960x896", "960x1024", "960x1088",
    "1024x832", "1024x896", "1024x960", "1024x1024", "1088x768", "1088x832", "1088x896", "1088x960", "1120x896",
    "1152x704", "1152x832", "1152x864", "1152x896", "1216x704", "1216x768", "1216x832", "1248x832", "1280x704",
    "1280x768", "1280x800", "1312x736", "1344x640", "1344x704", "1344x768", "1408x576", "1408x640", "1408x704",
    "1472x576", "1472x640", "1472x704", "1536x512", "1536x576", "1536x640",
})  # fmt: skip
ASPECT_RATIOS = (
    "1x1", "1x3", "3x1", "1x2", "2x1", "9x16", "16x9", "10x16", "16x10", "2x3", "3x2", "3x4", "4x3", "4x5", "5x4",
)  # fmt: skip


def _reduced(width: int, height: int) -> tuple[int, int]:
    divisor = math.gcd(width, height)
    return width // divisor, height // divisor


_BY_RATIO = {_reduced(*map(int, ratio.split("x"))): ratio for ratio in ASPECT_RATIOS}
_NEAREST = {"1792x1024": "16x9", "1024x1792": "9x16"}
_SIZE = re.compile(r"([1-9]\d{0,4})x([1-9]\d{0,4})")
_SPEED = {
    "low": "TURBO",
    "medium": "DEFAULT",
    "standard": "DEFAULT",
    "high": "QUALITY",
    "hd": "QUALITY",
    "xhigh": "QUALITY",
    "max": "QUALITY",
}
_STYLE = {"vivid": "DESIGN", "natural": "REALISTIC"}
_STYLE_TYPES = frozenset({"AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"})
_HANDLED = frozenset(
    {"prompt", "model", "n", "size", "quality", "style", "response_format", "user", "provider", "stream"}
)
_GPT_IMAGE_ONLY = frozenset({"background", "moderation", "output_format", "output_compression"})
_NATIVE = frozenset(
    {
        "negative_prompt",
        "seed",
        "magic_prompt",
        "num_images",
        "rendering_speed",
        "style_type",
        "style_preset",
        "aspect_ratio",
        "resolution",
        "style_codes",
    }
)
_SET_BY = {
    "num_images": "n",
    "resolution": "size",
    "aspect_ratio": "size",
    "rendering_speed": "quality",
    "style_type": "style",
}


class IdeogramImages:
    """The images adapter: `ProviderSpec(…, images=IdeogramImages())`; replies carry URLs only."""

    passthrough: ClassVar[bool] = False

    def build_request(self, req: ImagesRequest, target: Target) -> UpstreamRequest:
        body, content_type = form_data(generate_fields(req))
        headers = {**target.headers, "content-type": content_type}
        if target.api_key:
            headers["api-key"] = target.api_key
        return UpstreamRequest("POST", f"{target.base_url}/v1/ideogram-v3/generate", headers, body)

    def parse_response(self, body: bytes, req: ImagesRequest, target: Target) -> ImagesResponse:
        reply = json_reply(body, "Ideogram answered", an_object=False)
        items = reply.get("data") if isinstance(reply, dict) else None
        if not isinstance(items, list) or not items:
            raise UpstreamProtocolError("Ideogram answered without a list of generated images.")
        data = [image for image in map(_image, items) if image is not None]
        if not data:
            raise UpstreamStatusError(
                400,
                "Your request was rejected by Ideogram's safety system: no generated image passed its safety check.",
                error_type="invalid_request_error",
                param="prompt",
                code="content_policy_violation",
                raw=body,
            )
        return {"created": _unix_seconds(reply.get("created"), req.created), "data": data}

    def map_error(self, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
        return map_ideogram_error(status, headers, body)


def generate_fields(req: ImagesRequest) -> list[tuple[str, str]]:
    """The form fields of one generate request, in a stable order: prompt, mapped fields, Ideogram's own."""
    if req.response_format == "b64_json":
        raise UnsupportedParameterError(
            "Ideogram returns image URLs only; ask for response_format 'url' and download the images.",
            param="response_format",
        )
    mapped = _mapped(req)
    return [("prompt", req.prompt), *mapped.items(), *_native(req.body, mapped)]


def _mapped(req: ImagesRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    if req.n is not None:
        out["num_images"] = str(req.n)
    if req.size is not None and req.size != "auto":
        name, value = _size(req.size)
        out[name] = value
    if req.quality is not None and req.quality != "auto":
        if req.quality not in _SPEED:
            raise _bad_value("quality", req.quality, ", ".join(["auto", *_SPEED]))
        out["rendering_speed"] = _SPEED[req.quality]
    if req.style is not None:
        out["style_type"] = _style_type(req.style)
    return out


def _size(size: str) -> tuple[str, str]:
    """`resolution` or `aspect_ratio` for an OpenAI `size`; a size Ideogram cannot honour is a 400."""
    if size in RESOLUTIONS:
        return "resolution", size
    if size in _NEAREST:
        return "aspect_ratio", _NEAREST[size]
    match = _SIZE.fullmatch(size)
    ratio = _BY_RATIO.get(_reduced(int(match.group(1)), int(match.group(2)))) if match else None
    if ratio is not None:
        return "aspect_ratio", ratio
    raise InvalidRequestError(
        f"Invalid value for 'size': {size!r}. Ideogram takes one of its resolutions (e.g. 1024x1024), a size "
        f"with one of its aspect ratios ({', '.join(ASPECT_RATIOS)}), 1792x1024, 1024x1792 or 'auto'.",
        param="size",
        code="invalid_value",
    )


def _style_type(style: str) -> str:
    if style in _STYLE:
        return _STYLE[style]
    if style.upper() in _STYLE_TYPES:
        return style.upper()
    raise _bad_value("style", style, ", ".join([*_STYLE, *sorted(_STYLE_TYPES)]))


def _native(body: Mapping[str, Any], mapped: Mapping[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in body.items():
        if value is None or name in _HANDLED:
            continue
        if name in _GPT_IMAGE_ONLY:
            raise UnsupportedParameterError(
                f"'{name}' is a GPT image model parameter; Ideogram has no equivalent.", param=name
            )
        if name not in _NATIVE:
            raise UnsupportedParameterError(f"Unrecognized request argument supplied: {name}", param=name)
        if name in mapped:
            raise InvalidRequestError(
                f"'{name}' and '{_SET_BY[name]}' both set Ideogram's '{name}'; send one of them.",
                param=name,
                code="invalid_value",
            )
        out.extend(_form_values(name, value))
    return out


def _form_values(name: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(name, value)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [(name, str(value))]
    if name == "style_codes" and isinstance(value, list) and all(isinstance(code, str) for code in value):
        return [(name, code) for code in value]
    expected = "an array of strings" if name == "style_codes" else "a string or an integer"
    raise InvalidRequestError(f"Invalid type for '{name}': expected {expected}.", param=name, code="invalid_type")


def _image(item: object) -> ImageData | None:
    """One OpenAI image for one of Ideogram's, or None for an image that failed the safety check."""
    if not isinstance(item, dict) or item.get("is_image_safe") is False:
        return None
    url = item.get("url")
    if not isinstance(url, str) or not url:
        return None
    image: ImageData = {"url": url}
    if isinstance(item.get("prompt"), str):
        image["revised_prompt"] = item["prompt"]
    return image


def _unix_seconds(created: object, fallback: int) -> int:
    """Ideogram's ISO 8601 `created` (e.g. `2025-01-05T10:12:44.512Z`) as Unix seconds."""
    if isinstance(created, int | float) and not isinstance(created, bool):
        return int(created)
    if not isinstance(created, str):
        return fallback
    try:
        moment = datetime.fromisoformat(created)
    except ValueError:
        return fallback
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _bad_value(param: str, value: str, allowed: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Invalid value for '{param}': {value!r}; Ideogram takes {allowed}.", param=param, code="invalid_value"
    )
