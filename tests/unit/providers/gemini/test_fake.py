"""The fake Gemini upstream refuses what the real API refuses (so the integration tests mean something)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.fakes.gemini_validate import check_auth, validate_embed, validate_generate

USER = {"role": "user", "parts": [{"text": "hi"}]}
CALL = {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]}
ANSWER = {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": 1}}}]}


def message(body: dict[str, Any], signatures: bool = False) -> str:
    error = validate_generate(body, signatures_required=signatures)
    assert error is not None and error.code == 400
    return error.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"contents": [USER], "model": "x"}, 'Unknown name "model"'),
        ({"contents": []}, "contents is not specified"),
        ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "valid role"),
        ({"contents": [USER, USER]}, "alternate between user and model"),
        ({"contents": [{"role": "user", "parts": []}]}, "must not be empty"),
        ({"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {}}]}]}, "oneof field 'data'"),
        (
            {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "!!"}}]}]},
            "Base64",
        ),
        ({"contents": [USER, CALL, USER]}, "number of function response parts"),
        (
            {"contents": [USER, {"role": "model", "parts": [{"text": "x"}]}, ANSWER]},
            "immediately after a function call",
        ),
        ({"contents": [USER], "generationConfig": {"responseJsonSchema": {}}}, "application/json"),
        ({"contents": [USER], "generationConfig": {"top_k": 3}}, 'Unknown name "top_k"'),
        (
            {
                "contents": [USER],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["f"]}},
            },
            "ANY",
        ),
        (
            {"contents": [USER], "tools": [{"functionDeclarations": [{"name": "f", "strict": True}]}]},
            'Unknown name "strict"',
        ),
    ],
)
def test_generate_content_validation(body: dict[str, Any], expected: str) -> None:
    assert expected in message(body)


def test_gemini_3_needs_the_signature_of_the_current_turn_only() -> None:
    unsigned = {"contents": [USER, CALL, ANSWER]}
    assert "missing a thought_signature" in message(unsigned, signatures=True)
    assert validate_generate(unsigned, signatures_required=False) is None
    earlier_turn = {"contents": [USER, CALL, ANSWER, {"role": "model", "parts": [{"text": "ok"}]}, USER]}
    assert validate_generate(earlier_turn, signatures_required=True) is None


def test_auth_and_embeddings() -> None:
    assert check_auth({}, "", "k") is not None and check_auth({}, "", "k").code == 403  # type: ignore[union-attr]
    wrong = check_auth({"x-goog-api-key": "nope"}, "", "k")
    assert wrong is not None and wrong.details[0]["reason"] == "API_KEY_INVALID"
    assert check_auth({"x-goog-api-key": "k"}, "alt=sse&key=k", "k") is not None
    request = {"model": "models/other", "content": {"parts": [{"text": "a"}]}}
    error = validate_embed({"requests": [request]}, "gemini-embedding-001")
    assert error is not None and "models/gemini-embedding-001" in error.message
