"""Shared adapter helpers: model ids that go into URL paths cannot leave them."""

from __future__ import annotations

import pytest

from llmrelay.errors import InvalidRequestError
from llmrelay.providers.common import path_safe
from llmrelay.providers.gemini.wire import resource_name


@pytest.mark.parametrize(
    "model", ["gemini-2.5-flash", "models/gemini-2.5-flash", "tunedModels/x-1", "@cf/meta/llama-3.1-8b"]
)
def test_ordinary_ids_pass(model: str) -> None:
    assert path_safe(model) == model


@pytest.mark.parametrize(
    "model",
    ["gemini-x/../../v1beta/files", "..", "a/./b", "m?key=1", "m#frag", "m%2e%2e", "m n", "m\\..\\x", "m\n", ""],
)
def test_ids_that_could_leave_the_path_are_400(model: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        path_safe(model)
    assert caught.value.param == "model"


def test_gemini_refuses_a_traversing_model_id() -> None:
    with pytest.raises(InvalidRequestError):
        resource_name("gemini-2.5-flash/../../../v1beta/files")
