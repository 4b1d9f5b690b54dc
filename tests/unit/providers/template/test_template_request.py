"""The template adapter's request side, beyond the conformance fixtures: placeholders, params, keys, refusals."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from llmrelay.config.templates import read_template
from llmrelay.errors import AuthenticationError, InvalidRequestError, ServerError, UnsupportedParameterError
from llmrelay.providers.base import Target
from llmrelay.providers.template import TemplateChat, canonical, load_template
from llmrelay.schemas.chat import ChatRequest

FIXTURES = Path(__file__).parents[3] / "fixtures" / "providers" / "template"
EXAMPLE = Path(__file__).parents[4] / "examples" / "providers" / "qwen"
HEADER = (
    "POST /chat/{{ model }}?k={{key}} HTTP/1.1\nAuthorization: Bearer {{api_key}}\nX-Id: {{uuid}}\nX-Flag: {{flag}}\n"
)
PAYLOAD: dict[str, Any] = {
    "model": "{{model}}",
    "messages": [{"role": "{{role}}", "content": "{{content}}", "id": "{{uuid}}"}],
    "flag": "{{flag}}",
    "when": "{{timestamp}}",
    "note": "key={{key}}, stream={{stream}}",
}
METADATA: dict[str, Any] = {"host": "up.test", "params": {"key": "", "flag": False}}


def target(metadata: dict[str, Any] = METADATA, header: str = HEADER, payload: Any = PAYLOAD, **kw: Any) -> Target:
    options = {"template": canonical(metadata, header, payload)}
    fields: dict[str, Any] = {"provider": "t", "base_url": "https://up.test", "model": "m 1", "api_key": "k"}
    return Target(**{**fields, **kw, "options": options})


def request(**body: Any) -> ChatRequest:
    raw = {"model": "x", "messages": [{"role": "user", "content": "hi"}], **body}
    return ChatRequest.parse(json.dumps(raw).encode(), created=1767225600, request_id="r-1")


def test_fixture_templates_are_their_folders_read_without_environment() -> None:
    """target.json carries the canonical template; it must not drift from the folder it came from."""
    for case in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        folder = case / "template" if (case / "template").is_dir() else EXAMPLE
        expected = read_template("t", str(folder), {}, Path("."), "test").spec
        assert json.loads((case / "target.json").read_text())["options"]["template"] == expected, case.name


def test_placeholders_typed_whole_and_as_text() -> None:
    built = TemplateChat().build_request(request(key="a/b c", flag=True, stream=True), target())
    assert built.url == "https://up.test/chat/m%201?k=a%2Fb%20c"
    body = json.loads(built.body)
    assert (body["flag"], body["when"], body["note"]) == (True, 1767225600, "key=a/b c, stream=true")
    assert built.headers["x-flag"] == "true" and built.headers["authorization"] == "Bearer k"
    ids = [built.headers["x-id"], body["messages"][0]["id"]]
    assert len(set(ids)) == 2 and all(uuid.UUID(i) for i in ids)
    again = TemplateChat().build_request(request(key="a/b c", flag=True, stream=True), target())
    assert again.headers["x-id"] == ids[0], "uuids derive from the request id: the same request, the same ids"


def test_configured_headers_win_and_content_type_defaults() -> None:
    built = TemplateChat().build_request(request(key="v"), target(headers={"X-Flag": "configured"}))
    assert built.headers["x-flag"] == "configured" and built.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "key", "missing_required_parameter"),
        ({"key": ""}, "key", "missing_required_parameter"),
        ({"key": 3}, "key", None),
        ({"key": "v", "flag": "yes"}, "flag", "invalid_type"),
        ({"key": "v", "flag": [True]}, "flag", "invalid_type"),
        ({"key": "a\nb"}, "key", "invalid_value"),
        ({"key": "v", "temperature": 0.3}, "temperature", "unsupported_parameter"),
    ],
)
def test_params_and_unknown_fields(body: dict[str, Any], param: str, code: str | None) -> None:
    if code is None:  # a required param takes any scalar
        TemplateChat().build_request(request(**body), target())
        return
    with pytest.raises(InvalidRequestError) as caught:
        TemplateChat().build_request(request(**body), target())
    assert (caught.value.param, caught.value.code) == (param, code)


def test_fields_that_ask_for_nothing_or_change_nothing_pass() -> None:
    body = {"key": "v", "n": 1, "tools": [], "user": "u", "stream_options": {"include_usage": True}, "seed": None}
    TemplateChat().build_request(request(**body), target())


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": "tool", "tool_call_id": "c", "content": "x"}], "messages[0].role"),
        ([{"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}], "messages[0].tool_calls"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], "messages[0].content"),
    ],
)
def test_messages_a_template_cannot_carry(messages: list[dict[str, Any]], param: str) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        TemplateChat().build_request(request(key="v", messages=messages), target())
    assert caught.value.param == param


def test_missing_api_key_is_401_only_when_the_template_uses_it() -> None:
    with pytest.raises(AuthenticationError) as caught:
        TemplateChat().build_request(request(key="v"), target(api_key=None))
    assert caught.value.code == "missing_api_key"
    keyless = target(api_key=None, header="POST /chat HTTP/1.1\n")
    assert TemplateChat().build_request(request(key="v"), keyless).url == "https://up.test/chat"


def test_fold_sends_a_lone_message_as_it_is_and_skips_empty_history() -> None:
    folded = target(metadata={**METADATA, "history": "fold", "roles": {"user": "human"}})
    one = json.loads(TemplateChat().build_request(request(key="v"), folded).body)["messages"]
    assert one == [{"role": "human", "content": "hi", "id": one[0]["id"]}]
    history = [{"role": "user", "content": "  "}, {"role": "user", "content": "now"}]
    content = json.loads(TemplateChat().build_request(request(key="v", messages=history), folded).body)
    assert content["messages"][0]["content"] == '# Current message\n{"role":"user","content":"now"}'


def test_template_is_compiled_once_per_text() -> None:
    text = target().options["template"]
    assert load_template(text) is load_template(text)


def test_a_target_without_its_template_is_a_server_error() -> None:
    with pytest.raises(ServerError):
        TemplateChat().build_request(request(), Target("t", "https://up.test", "m"))
