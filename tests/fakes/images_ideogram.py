"""A strict fake of Ideogram 3.0's `POST /v1/ideogram-v3/generate` (reference §9.2).

    fake = FakeIdeogram(api_key="ik-test")
    with serve_in_thread(fake.app) as server:
        ...                                      # base_url server.base_url

The request must be multipart/form-data with an `Api-Key` header; fields and enums follow Ideogram's
OpenAPI document for the endpoint (developer.ideogram.ai, "Generate with Ideogram 3.0"), and the
body is read with the stdlib MIME parser (`tests.fakes.images.parse_form`). Error bodies are
`{"detail": "…"}`. A prompt containing REJECTED_PROMPT gets the 422 safety answer; UNSAFE_IMAGES makes
every image come back with `is_image_safe: false` and no URL, ONE_UNSAFE_IMAGE only the first.
"""

from __future__ import annotations

from typing import ClassVar

from tests.fakes.images import FormError, ImageFake, Reply, Status, parse_form

REJECTED_PROMPT = "rejected prompt"
UNSAFE_IMAGES = "unsafe images"
ONE_UNSAFE_IMAGE = "one unsafe image"
CREATED = "2025-01-05T10:12:44.512Z"
CREATED_UNIX = 1736071964
ASPECT_RATIOS = frozenset(
    {"1x3", "3x1", "1x2", "2x1", "9x16", "16x9", "10x16", "16x10", "2x3", "3x2", "3x4", "4x3", "4x5", "5x4", "1x1"}
)
RESOLUTION_OF_RATIO = {"1x1": "1024x1024", "16x9": "1312x736", "9x16": "736x1312", "3x2": "1248x832", "2x3": "832x1248"}
ENUMS = {
    "rendering_speed": frozenset({"FLASH", "TURBO", "DEFAULT", "QUALITY"}),
    "magic_prompt": frozenset({"AUTO", "ON", "OFF"}),
    "style_type": frozenset({"AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"}),
    "aspect_ratio": ASPECT_RATIOS,
}
FIELDS = frozenset(
    {
        "prompt",
        "seed",
        "resolution",
        "aspect_ratio",
        "rendering_speed",
        "magic_prompt",
        "negative_prompt",
        "num_images",
        "color_palette",
        "style_codes",
        "style_type",
        "style_preset",
    }
)
_DEFAULT_ERRORS = {
    400: "Invalid input provided.",
    401: "Not authorized to generate an image.",
    422: "Prompt failed the safety check.",
    429: "Too many requests.",
    500: "Internal server error.",
    503: "Service temporarily unavailable.",
}


class FakeIdeogram(ImageFake):
    route: ClassVar[tuple[str, str]] = ("POST", "/v1/ideogram-v3/generate")

    def answer(self, headers: dict[str, str], body: bytes, directive: Status | None, number: int) -> Reply:
        if headers.get("api-key") != self.api_key:
            return self.error_body(401)
        try:
            fields = _fields(headers.get("content-type", ""), body)
        except FormError as exc:
            return _detail(400, str(exc))
        problem = validate(fields)
        if problem is not None:
            return _detail(400, problem)
        if REJECTED_PROMPT in fields["prompt"][0]:
            return self.error_body(422)
        if directive is not None:
            return self.planned(directive)
        return Reply.json(200, generate_body(fields, number))

    def error_body(self, status: int) -> Reply:
        return _detail(status, _DEFAULT_ERRORS.get(status, f"Fake Ideogram error {status}."))


def _fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in parse_form(content_type, body):
        fields.setdefault(name, []).append(value)
    return fields


def validate(fields: dict[str, list[str]]) -> str | None:
    """What a strict server says about these form fields, or None when they are fine."""
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        return f"Unknown field: {unknown[0]}"
    repeated = [name for name, values in fields.items() if len(values) > 1 and name != "style_codes"]
    if repeated:
        return f"Field {repeated[0]} given more than once"
    if not fields.get("prompt", [""])[0].strip():
        return "prompt: field required"
    for name, allowed in ENUMS.items():
        if name in fields and fields[name][0] not in allowed:
            return f"{name}: value is not a valid enumeration member"
    if "resolution" in fields and "aspect_ratio" in fields:
        return "resolution and aspect_ratio cannot be used together"
    for name, low, high in (("num_images", 1, 8), ("seed", 0, 2147483647)):
        if name in fields and not (fields[name][0].isdigit() and low <= int(fields[name][0]) <= high):
            return f"{name}: must be an integer between {low} and {high}"
    return None


def generate_body(fields: dict[str, list[str]], number: int) -> dict[str, object]:
    prompt = fields["prompt"][0]
    count = int(fields.get("num_images", ["1"])[0])
    ratio = fields.get("aspect_ratio", ["1x1"])[0]
    resolution = fields.get("resolution", [RESOLUTION_OF_RATIO.get(ratio, "1024x1024")])[0]
    revised = prompt if fields.get("magic_prompt", ["AUTO"])[0] == "OFF" else f"{prompt}, in soft watercolor"
    images = []
    for index in range(count):
        unsafe = UNSAFE_IMAGES in prompt or (ONE_UNSAFE_IMAGE in prompt and index == 0)
        images.append(
            {
                "prompt": revised,
                "resolution": resolution,
                "is_image_safe": not unsafe,
                "seed": 1000 + index,
                "style_type": fields.get("style_type", ["GENERAL"])[0],
                "url": None if unsafe else f"https://ideogram.ai/api/images/ephemeral/fake{number}-{index}.png?exp=1",
            }
        )
    return {"created": CREATED, "data": images}


def _detail(status: int, message: str) -> Reply:
    return Reply.json(status, {"detail": message})
