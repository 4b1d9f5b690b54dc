"""Self-tests of the fake image APIs, driven by httpx (no gateway): they refuse what the real APIs refuse."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.images import Status
from tests.fakes.images_ideogram import FakeIdeogram
from tests.fakes.images_openai import FakeOpenAIImages
from tests.fakes.images_recraft import FakeRecraft
from tests.fakes.server import serve_in_thread

KEY = "key-test"
FORM = (
    b'--b0\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nA fox\r\n'
    b'--b0\r\nContent-Disposition: form-data; name="aspect_ratio"\r\n\r\n1x1\r\n--b0--\r\n'
)


@pytest.fixture(scope="module")
def ideogram() -> Iterator[tuple[FakeIdeogram, httpx.Client]]:
    fake = FakeIdeogram(KEY)
    with serve_in_thread(fake.app) as server, httpx.Client(base_url=server.base_url) as http:
        yield fake, http


def post_form(
    http: httpx.Client, body: bytes, content_type: str = "multipart/form-data; boundary=b0"
) -> httpx.Response:
    headers = {"api-key": KEY, "content-type": content_type}
    return http.post("/v1/ideogram-v3/generate", content=body, headers=headers)


def test_ideogram_answers_a_well_formed_form(ideogram: tuple[FakeIdeogram, httpx.Client]) -> None:
    fake, http = ideogram
    fake.reset()
    response = post_form(http, FORM)
    assert response.status_code == 200
    assert response.json()["data"][0]["resolution"] == "1024x1024"
    assert fake.requests[-1].form() == {"prompt": ["A fox"], "aspect_ratio": ["1x1"]}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (FORM, "application/json", 400),
        (FORM[:-8], "multipart/form-data; boundary=b0", 400),
        (FORM.replace(b"aspect_ratio", b"size"), "multipart/form-data; boundary=b0", 400),
        (FORM.replace(b"1x1", b"7x5"), "multipart/form-data; boundary=b0", 400),
        (FORM.replace(b"A fox", b"a rejected prompt"), "multipart/form-data; boundary=b0", 422),
    ],
)
def test_ideogram_refuses_bad_forms(
    ideogram: tuple[FakeIdeogram, httpx.Client], body: bytes, content_type: str, status: int
) -> None:
    response = post_form(ideogram[1], body, content_type)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


def test_ideogram_wants_its_api_key_header(ideogram: tuple[FakeIdeogram, httpx.Client]) -> None:
    response = ideogram[1].post(
        "/v1/ideogram-v3/generate",
        content=FORM,
        headers={"authorization": f"Bearer {KEY}", "content-type": "multipart/form-data; boundary=b0"},
    )
    assert response.status_code == 401


def test_recraft_plain_text_errors_and_planned_faults() -> None:
    fake = FakeRecraft(KEY)
    with serve_in_thread(fake.app) as server, httpx.Client(base_url=server.base_url) as http:
        body = {"prompt": "fox", "model": "recraftv3"}
        unauthorized = http.post("/v1/images/generations", json=body)
        assert (unauthorized.status_code, unauthorized.text) == (401, "request unauthorized")
        assert http.post("/v1/nope", json=body).text == "404 page not found"
        auth = {"authorization": f"Bearer {KEY}"}
        assert http.post("/v1/images/generations", json={**body, "n": 7}, headers=auth).json()["code"] == "invalid_n"
        fake.plan(Status(429, headers={"Retry-After": "4"}))
        limited = http.post("/v1/images/generations", json=body, headers=auth)
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "4")
        assert http.post("/v1/images/generations", json=body, headers=auth).json()["data"][0]["url"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "gpt-image-1", "prompt": "p", "response_format": "url"}, "response_format"),
        ({"model": "dall-e-3", "prompt": "p", "n": 2}, "n"),
        ({"model": "dall-e-2", "prompt": "p", "background": "opaque"}, "background"),
        ({"model": "dall-e-3", "prompt": "p", "style": "cubist"}, "style"),
        ({"model": "dall-e-3"}, "prompt"),
    ],
)
def test_openai_images_per_model_rules(body: dict[str, object], param: str) -> None:
    fake = FakeOpenAIImages(KEY)
    with serve_in_thread(fake.app) as server:
        response = httpx.post(
            f"{server.base_url}/v1/images/generations", json=body, headers={"authorization": f"Bearer {KEY}"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
