"""Ideogram's pure pieces: the multipart encoder (read back by the stdlib's MIME parser) and size mapping."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fakes.images import parse_form

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.ideogram.images import generate_fields
from llmrelay.providers.ideogram.multipart import boundary, form_data
from llmrelay.schemas.images import ImagesRequest

NAMES = st.sampled_from(["prompt", "negative_prompt", "style_codes", "seed"])
VALUES = st.text(st.characters(codec="utf-8"), max_size=40)


@given(st.lists(st.tuples(NAMES, VALUES), min_size=1, max_size=6))
def test_any_text_fields_read_back_unchanged(fields: list[tuple[str, str]]) -> None:
    body, content_type = form_data(fields)
    assert parse_form(content_type, body) == fields
    assert form_data(fields) == (body, content_type), "the same fields give the same bytes"


def test_a_boundary_found_in_a_value_is_not_used() -> None:
    seed = b"seed"
    first = b"llmrelay-" + hashlib.sha256(seed + (0).to_bytes(8, "big")).hexdigest()[:32].encode()
    chosen = boundary([(b"prompt", b"text with " + first + b" inside")], seed)
    assert chosen != first and chosen.startswith(b"llmrelay-")
    assert boundary([(b"prompt", b"plain")], seed) == first


def fields(**body: object) -> dict[str, str]:
    req = ImagesRequest.parse(orjson.dumps({"prompt": "p", **body}))
    return {name: value for name, value in generate_fields(req) if name != "prompt"}


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1024x1024", {"resolution": "1024x1024"}),
        ("1280x800", {"resolution": "1280x800"}),
        ("1536x1024", {"aspect_ratio": "3x2"}),
        ("1024x1536", {"aspect_ratio": "2x3"}),
        ("1792x1024", {"aspect_ratio": "16x9"}),
        ("1024x1792", {"aspect_ratio": "9x16"}),
        ("512x512", {"aspect_ratio": "1x1"}),
        ("256x256", {"aspect_ratio": "1x1"}),
        ("1600x1000", {"aspect_ratio": "16x10"}),
        ("16x9", {"aspect_ratio": "16x9"}),
        ("auto", {}),
    ],
)
def test_openai_sizes_map_to_a_resolution_or_an_aspect_ratio(size: str, expected: dict[str, str]) -> None:
    assert fields(size=size) == expected


@pytest.mark.parametrize("size", ["333x777", "0x10", "1024", "1024x1024x2", "big"])
def test_sizes_ideogram_cannot_honour_are_400(size: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        fields(size=size)
    assert caught.value.param == "size"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"quality": "low"}, {"rendering_speed": "TURBO"}),
        ({"quality": "standard"}, {"rendering_speed": "DEFAULT"}),
        ({"quality": "hd"}, {"rendering_speed": "QUALITY"}),
        ({"quality": "auto"}, {}),
        ({"style": "vivid"}, {"style_type": "DESIGN"}),
        ({"style": "natural"}, {"style_type": "REALISTIC"}),
        ({"style": "fiction"}, {"style_type": "FICTION"}),
        ({"n": 4, "user": "u", "provider": "ig"}, {"num_images": "4"}),
        ({"rendering_speed": "FLASH", "seed": 3}, {"rendering_speed": "FLASH", "seed": "3"}),
    ],
)
def test_quality_style_and_n_mapping(body: dict[str, object], expected: dict[str, str]) -> None:
    assert fields(**body) == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"response_format": "b64_json"}, "response_format"),
        ({"moderation": "low"}, "moderation"),
        ({"n": 2, "num_images": 3}, "num_images"),
        ({"style_codes": [1, 2]}, "style_codes"),
        ({"seed": True}, "seed"),
        ({"mystery": "x"}, "mystery"),
    ],
)
def test_what_ideogram_cannot_take_is_a_400_naming_it(body: dict[str, object], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        fields(**body)
    assert caught.value.param == param
