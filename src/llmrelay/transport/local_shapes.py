"""llama-cpp-python's replies → OpenAI's exact shapes (the fields OpenAI marks required-but-nullable).

>>> normalise_completion(result, "local/smollm2-135m-instruct", ("chatcmpl-1", 1733011200))["choices"][0]["message"]["refusal"]
"""

from __future__ import annotations

from typing import Any


def normalise_completion(result: dict[str, Any], model: str, ids: tuple[str, int]) -> dict[str, Any]:
    result["id"], result["created"], result["model"] = ids[0], ids[1], model
    for choice in result.get("choices", []):
        choice.setdefault("logprobs", None)
        message = choice.get("message")
        if message is not None:
            message.setdefault("refusal", None)
            message.setdefault("content", None)
    return result


def normalise_chunk(chunk: dict[str, Any], model: str, ids: tuple[str, int]) -> dict[str, Any]:
    chunk["id"], chunk["created"], chunk["model"] = ids[0], ids[1], model
    for choice in chunk.get("choices", []):
        choice.setdefault("logprobs", None)
        choice.setdefault("finish_reason", None)
        delta = choice.get("delta")
        if delta is not None and delta.get("role") == "assistant" and "content" not in delta:
            delta["content"] = ""  # OpenAI's first chunk carries role and an empty content
    return chunk
