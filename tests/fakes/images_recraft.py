"""A strict fake of Recraft's `POST /v1/images/generations` (reference §9.3).

    fake = FakeRecraft(api_key="rc-test")
    with serve_in_thread(fake.app) as server:
        ...                                      # base_url f"{server.base_url}/v1"

As recraft.ai/docs/api-reference documents it: `Authorization: Bearer <token>` (401 with the plain-text
body `request unauthorized`), JSON bodies, `n` 1–6, a model id, Recraft's own styles and sizes, and
`url` or `b64_json` answers; an unknown path is the plain-text `404 page not found`. Other errors
carry a JSON body, `{"code": …, "message": …}` here (Recraft documents no schema for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import orjson

from tests.fakes.images import PNG_B64, ImageFake, Reply, Status

CREATED = 1733015000
MODELS = frozenset({"recraftv3", "recraftv2"})
STYLES = frozenset({"any", "realistic_image", "digital_illustration", "vector_illustration", "icon"})
SIZES = frozenset(
    {
        "1024x1024",
        "1365x1024",
        "1024x1365",
        "1536x1024",
        "1024x1536",
        "1820x1024",
        "1024x1820",
        "1024x2048",
        "2048x1024",
        "1:1",
        "16:9",
        "9:16",
        "3:2",
        "2:3",
    }
)
FIELDS = frozenset(
    {
        "prompt",
        "model",
        "style",
        "substyle",
        "style_id",
        "size",
        "n",
        "response_format",
        "negative_prompt",
        "text_layout",
        "controls",
    }
)


class FakeRecraft(ImageFake):
    route: ClassVar[tuple[str, str]] = ("POST", "/v1/images/generations")

    def answer(self, headers: dict[str, str], body: bytes, directive: Status | None, number: int) -> Reply:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return self.error_body(401)
        if headers.get("content-type", "").split(";")[0] != "application/json":
            return _error(400, "invalid_content_type", "expected application/json")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "invalid_json", "request body is not valid JSON")
        problem = validate(payload if isinstance(payload, dict) else {})
        if problem is not None:
            return _error(400, *problem)
        if directive is not None:
            return self.planned(directive)
        return Reply.json(200, generate_body(payload, number))

    def error_body(self, status: int) -> Reply:
        if status == 401:
            return Reply.text(401, "request unauthorized")
        if status == 404:
            return Reply.text(404, "404 page not found")
        return _error(status, "error", f"fake Recraft error {status}")

    def not_found(self, scope: Mapping[str, Any]) -> Reply:
        return Reply.text(404, "404 page not found")


def validate(body: dict[str, Any]) -> tuple[str, str] | None:
    """`(code, message)` for a request Recraft would refuse, or None."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        return "unknown_field", f"unknown field '{unknown[0]}'"
    if not isinstance(body.get("prompt"), str) or not body["prompt"]:
        return "invalid_prompt", "prompt is required"
    checks = (
        ("model", MODELS, "recraftv3"),
        ("style", STYLES, "any"),
        ("size", SIZES, "1024x1024"),
        ("response_format", frozenset({"url", "b64_json"}), "url"),
    )
    for name, allowed, default in checks:
        if body.get(name, default) not in allowed:
            return f"invalid_{name}", f"invalid {name} '{body[name]}'"
    n = body.get("n", 1)
    if not isinstance(n, int) or not 1 <= n <= 6:
        return "invalid_n", "n must be between 1 and 6"
    return None


def generate_body(body: dict[str, Any], number: int) -> dict[str, Any]:
    data = []
    for index in range(body.get("n", 1)):
        image: dict[str, str] = {"image_id": f"7d4f0000-0000-4000-8000-{number:06d}{index:06d}"}
        if body.get("response_format") == "b64_json":
            image["b64_json"] = PNG_B64
        else:
            image["url"] = f"https://img.recraft.fake/{number}-{index}.png"
        data.append(image)
    return {"created": CREATED + number, "credits": 40 * len(data), "data": data}


def _error(status: int, code: str, message: str) -> Reply:
    return Reply.json(status, {"code": code, "message": message})
