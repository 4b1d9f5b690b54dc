"""Gemini `generateContent` wire shapes this adapter sends (camelCase, as the REST API spells them).

Field names follow the Gemini API converters of the official google-genai SDK (`google/genai/models.py`
`_Part_to_mldev`, `_GenerateContentConfig_to_mldev`, `_FunctionDeclaration_to_mldev`); replies are read
as plain JSON objects, since only a handful of their fields matter.

    >>> content: Content = {"role": "user", "parts": [{"text": "hi"}]}
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from llmrelay.providers.common import path_safe

JSONObject = dict[str, Any]

Role = Literal["user", "model"]


class Blob(TypedDict):
    mimeType: str
    data: str


class FileData(TypedDict):
    mimeType: str
    fileUri: str


class FunctionCall(TypedDict):
    name: str
    args: JSONObject


class FunctionResponse(TypedDict):
    name: str
    response: JSONObject


class Part(TypedDict, total=False):
    """Exactly one data field per part (`types.Part`); `thoughtSignature` rides on a `functionCall` part."""

    text: str
    inlineData: Blob
    fileData: FileData
    functionCall: FunctionCall
    functionResponse: FunctionResponse
    thoughtSignature: str


class Content(TypedDict):
    role: Role
    parts: list[Part]


class SystemInstruction(TypedDict):
    parts: list[Part]


class FunctionDeclaration(TypedDict, total=False):
    name: str
    description: str
    parametersJsonSchema: JSONObject


class Tool(TypedDict):
    functionDeclarations: list[FunctionDeclaration]


class FunctionCallingConfig(TypedDict, total=False):
    mode: Literal["AUTO", "ANY", "NONE"]
    allowedFunctionNames: list[str]


class ToolConfig(TypedDict):
    functionCallingConfig: FunctionCallingConfig


class ThinkingConfig(TypedDict):
    thinkingLevel: Literal["MINIMAL", "LOW", "MEDIUM", "HIGH"]


class GenerationConfig(TypedDict, total=False):
    temperature: float
    topP: float
    topK: int
    candidateCount: int
    maxOutputTokens: int
    stopSequences: list[str]
    seed: int
    presencePenalty: float
    frequencyPenalty: float
    responseMimeType: str
    responseJsonSchema: JSONObject
    thinkingConfig: ThinkingConfig


class GenerateContentRequest(TypedDict, total=False):
    contents: list[Content]
    systemInstruction: SystemInstruction
    tools: list[Tool]
    toolConfig: ToolConfig
    generationConfig: GenerationConfig


def resource_name(model: str) -> str:
    """`gemini-2.5-flash` → `models/gemini-2.5-flash`; `models/…` and `tunedModels/…` names stay as they are."""
    path_safe(model)
    return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"


def api_headers(api_key: str | None, extra: dict[str, str]) -> dict[str, str]:
    """JSON content type, the provider's extra headers, and `x-goog-api-key` (never `?key=`: URLs get logged)."""
    headers = {"content-type": "application/json", **extra}
    if api_key:
        headers["x-goog-api-key"] = api_key
    return headers
