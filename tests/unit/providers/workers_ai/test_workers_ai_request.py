"""Workers AI request building beyond the recorded cases: routing, the account id, and every 400."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llmrelay.errors import InvalidRequestError, RelayError, ServerError, UnsupportedParameterError
from llmrelay.providers.base import Target
from llmrelay.providers.workers_ai import WorkersAIChat, WorkersAIEmbeddings
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.embeddings import EmbeddingsRequest

BASE = "https://api.cloudflare.com/client/v4"
HELLO = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def target(model: str = "@cf/meta/llama-3.1-8b-instruct", **options: str) -> Target:
    return Target("cf", BASE, model, "tok", options=options or {"account_id": "acct"})


def chat(body: dict[str, Any], model: str = "@cf/meta/llama-3.1-8b-instruct") -> Any:
    req = ChatRequest.parse(orjson.dumps({"model": "m", "messages": HELLO, **body}), request_id="r1")
    built = WorkersAIChat().build_request(req, target(model))
    return built.url, orjson.loads(built.body)


def rejected(body: dict[str, Any]) -> RelayError:
    with pytest.raises(UnsupportedParameterError) as caught:
        chat(body)
    return caught.value


@pytest.mark.parametrize(
    ("model", "url"),
    [
        ("@cf/meta/llama-3.1-8b-instruct", f"{BASE}/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct"),
        (
            "run/@hf/nousresearch/hermes-2-pro-mistral-7b",
            f"{BASE}/accounts/acct/ai/run/@hf/nousresearch/hermes-2-pro-mistral-7b",
        ),
        ("v1/@cf/openai/gpt-oss-120b", f"{BASE}/accounts/acct/ai/v1/chat/completions"),
    ],
)
def test_the_model_id_prefix_picks_the_endpoint(model: str, url: str) -> None:
    assert chat({}, model)[0] == url


def test_v1_body_is_the_client_body_with_the_bare_model() -> None:
    _, body = chat({"stop": "x", "n": 2, "logprobs": True}, "v1/@cf/openai/gpt-oss-120b")
    assert body == {"model": "@cf/openai/gpt-oss-120b", "messages": HELLO, "stop": "x", "n": 2, "logprobs": True}


def test_missing_account_id_is_a_clear_server_error() -> None:
    req = ChatRequest.parse(orjson.dumps({"model": "m", "messages": HELLO}))
    with pytest.raises(ServerError) as caught:
        WorkersAIChat().build_request(req, Target("cf", BASE, "@cf/x/y", "tok"))
    assert caught.value.status_code == 500
    assert "providers.cf.account_id" in caught.value.message


@pytest.mark.parametrize(
    "model",
    ["@cf/../../zones", "@cf/x/../../../user/tokens", "@cf/x?y=1", "@cf/x#f", "@cf/x%2F..", " @cf/x", "v1/../x", ""],
)
def test_a_model_id_cannot_leave_the_workers_ai_path(model: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        chat({}, model)
    assert caught.value.param == "model"


def test_account_id_is_one_path_segment() -> None:
    req = ChatRequest.parse(orjson.dumps({"model": "m", "messages": HELLO}))
    url = WorkersAIChat().build_request(req, target(account_id="a/b?c")).url
    assert url.startswith(f"{BASE}/accounts/a%2Fb%3Fc/ai/run/")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"n": 2}, "n"),
        ({"stop": ["\n"]}, "stop"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"logit_bias": {"1": 2}}, "logit_bias"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"min_p": 0.1}, "min_p"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "messages[0].content[0]",
        ),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]},
            "messages[0].content",
        ),
        ({"messages": [*HELLO, {"role": "tool", "content": "x"}]}, "messages[1].tool_call_id"),
        (
            {"messages": [{"role": "assistant", "content": None, "tool_calls": [{"type": "function"}]}]},
            "messages[0].tool_calls[0]",
        ),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0]"),
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
        ({"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [], "tool_choice": "auto"}, "tool_choice"),
        ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format.json_schema"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_object"}, "stream": True}, "response_format"),
    ],
)
def test_what_the_run_endpoint_cannot_honour_is_a_400_naming_it(body: dict[str, Any], param: str) -> None:
    error = rejected(body)
    assert error.param == param
    assert error.status_code == 400


def test_http_image_urls_are_refused_with_the_part_named() -> None:
    content = [{"type": "text", "text": "?"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
    assert (
        rejected({"messages": [{"role": "user", "content": content}]}).param == "messages[0].content[1].image_url.url"
    )


def test_harmless_fields_are_dropped_and_n_1_logprobs_false_accepted() -> None:
    _, body = chat(
        {"n": 1, "logprobs": False, "user": "u", "metadata": {"a": "b"}, "store": False, "parallel_tool_calls": True}
        | {"service_tier": "auto", "response_format": {"type": "text"}, "tool_choice": "none"}
    )
    assert body == {"messages": HELLO}


def test_assistant_tool_call_arguments_become_a_string_and_null_content_empty() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
    messages = [
        *HELLO,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    _, body = chat({"messages": messages})
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{**call, "function": {"name": "f", "arguments": '{"a":1}'}}],
    }
    assert body["messages"][2] == {"role": "tool", "content": "ok", "tool_call_id": "c1", "name": "f"}


def embeddings(body: dict[str, Any], model: str = "@cf/baai/bge-base-en-v1.5") -> Any:
    req = EmbeddingsRequest.parse(orjson.dumps({"model": "m", **body}))
    return orjson.loads(WorkersAIEmbeddings().build_request(req, target(model)).body)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [[1, 2]]}, "input"),
        ({"input": "x", "dimensions": 8}, "dimensions"),
        ({"input": "x", "truncate": True}, "truncate"),
    ],
)
def test_embeddings_refusals(body: dict[str, Any], param: str) -> None:
    with pytest.raises(UnsupportedParameterError) as caught:
        embeddings(body)
    assert caught.value.param == param


def test_embeddings_v1_forwards_the_body() -> None:
    body = embeddings({"input": [[1, 2]], "dimensions": 8}, "v1/@cf/baai/bge-m3")
    assert body == {"model": "@cf/baai/bge-m3", "input": [[1, 2]], "dimensions": 8}
