"""The template adapter's reply side, beyond the conformance fixtures: endings, junk, and error shapes."""

from __future__ import annotations

import json

import pytest

from llmrelay.errors import UpstreamProtocolError, UpstreamStatusError
from llmrelay.providers.template.errors import map_template_error
from llmrelay.providers.template.reply import TemplateStream, events_of, parse_whole
from llmrelay.providers.template.spec import compile_template
from llmrelay.schemas.chat import ChatRequest
from llmrelay.schemas.sse import SSEEvent

REQ = ChatRequest.parse(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}', created=7, request_id="r")
SPEC = compile_template({"host": "h"}, "POST /c HTTP/1.1\n", {"messages": [{"content": "{{content}}"}]}).response
"""The default `response` section: OpenAI-style chunks."""


def chunk(content: str | None = None, finish: str | None = None, **extra: object) -> SSEEvent:
    delta = {} if content is None else {"content": content}
    return SSEEvent(json.dumps({"choices": [{"delta": delta, "finish_reason": finish}], **extra}))


def test_openai_style_usage_after_the_finish_is_still_read() -> None:
    stream = TemplateStream(REQ, "m", SPEC)
    out = stream.feed(chunk("Hi")) + stream.feed(chunk(finish="length"))
    assert [c["choices"][0]["finish_reason"] for c in out] == [None, "length"]
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert stream.feed(SSEEvent(json.dumps({"choices": [], "usage": usage}))) == []
    assert stream.feed(chunk("ignored")) == [] and stream.feed(SSEEvent('{"error": "late"}')) == []
    assert stream.usage == usage and stream.close() == []


def test_eof_without_a_finish_marker_is_stop_and_nothing_at_all_is_an_error() -> None:
    stream = TemplateStream(REQ, "m", SPEC)
    stream.feed(chunk("Hi"))
    assert stream.close()[-1]["choices"][0]["finish_reason"] == "stop"
    with pytest.raises(UpstreamProtocolError, match="no event"):
        TemplateStream(REQ, "m", SPEC).close()


def test_done_before_any_text_still_opens_with_the_role() -> None:
    out = TemplateStream(REQ, "m", SPEC).feed(SSEEvent("[DONE]"))
    assert [c["choices"][0]["delta"] for c in out] == [{"role": "assistant", "content": ""}, {}]


@pytest.mark.parametrize("data", ["not json", "[1, 2]"])
def test_a_line_that_is_not_a_json_object_is_a_protocol_error(data: str) -> None:
    with pytest.raises(UpstreamProtocolError):
        TemplateStream(REQ, "m", SPEC).feed(SSEEvent(data))


def test_whole_body_forms() -> None:
    pretty = json.dumps({"choices": [{"message": {"content": "Hi"}, "finish_reason": "stop"}]}, indent=2).encode()
    assert len(events_of(pretty)) == 1
    assert parse_whole(pretty, REQ, "m", SPEC)["choices"][0]["message"]["content"] == "Hi"
    lines = b'event: x\r\n: comment\r\ndata:{"choices":[{"delta":{"content":"A"}}]}\r\n{"choices":[{"delta":{"content":"B"}}]}\n'
    assert [e.data for e in events_of(lines)] == [
        '{"choices":[{"delta":{"content":"A"}}]}',
        '{"choices":[{"delta":{"content":"B"}}]}',
    ]
    assert parse_whole(lines, REQ, "m", SPEC)["choices"][0]["message"]["content"] == "AB"
    with pytest.raises(UpstreamProtocolError):
        parse_whole(b"\n\n", REQ, "m", SPEC)


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        ({"error": {"code": "unauthorized", "details": "Log in"}}, "Log in", "unauthorized"),
        ({"error": {"message": "Bad key", "type": "invalid_request_error"}}, "Bad key", "invalid_request_error"),
        ({"error": "plain words"}, "plain words", None),
        (
            {"success": False, "data": {"code": "Bad_Request", "details": "internal error"}},
            "internal error",
            "Bad_Request",
        ),
        ({"success": False, "message": "nope", "code": 7}, "nope", "7"),
        ({"success": False}, "The upstream reported an error.", None),
    ],
)
def test_error_shapes(body: dict[str, object], message: str, code: str | None) -> None:
    error = map_template_error(401, {"Retry-After": "2", "X-Other": "no"}, json.dumps(body).encode())
    assert isinstance(error, UpstreamStatusError)
    assert (error.status_code, error.message, error.code, dict(error.headers)) == (
        401,
        message,
        code,
        {"Retry-After": "2"},
    )


def test_other_bodies_are_read_as_openai_reads_them() -> None:
    error = map_template_error(500, {}, b'{"detail": "boom"}')
    assert error.status_code == 500 and "boom" in error.message
