"""Validate Gemini API requests the way generativelanguage.googleapis.com does, returning its google.rpc error.

    error = validate_generate(body, model="gemini-3-pro-preview", signatures_required=True)
    if error is not None:
        await send_json(send, error.code, error.envelope(), {})

Field names and enums follow the google-genai SDK's Gemini API converters (`models.py` `*_to_mldev`,
`types.py`); messages follow reference §3.2/§3.6 and public captures. Only what a translator could get
wrong is checked, not the whole proto.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSONObject = dict[str, Any]

TOP_LEVEL = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "safetySettings", "generationConfig"})
TOP_LEVEL_EXTRA = frozenset({"cachedContent"})
PART_DATA = frozenset({"text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode"})
PART_DATA_EXTRA = frozenset({"codeExecutionResult"})
PART_META = frozenset({"thought", "thoughtSignature", "videoMetadata"})
GENERATION = frozenset(
    {"temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences", "seed"}
    | {"presencePenalty", "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema"}
    | {"responseLogprobs", "logprobs", "thinkingConfig", "responseModalities", "mediaResolution", "speechConfig"}
)
DECLARATION = frozenset({"name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema"})
MODES = frozenset({"AUTO", "ANY", "NONE", "VALIDATED"})
THINKING = frozenset({"thinkingBudget", "includeThoughts", "thinkingLevel"})
THINKING_LEVELS = frozenset({"MINIMAL", "LOW", "MEDIUM", "HIGH"})
EMBED_REQUEST = frozenset({"model", "content", "taskType", "title", "outputDimensionality"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,63}")
_UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
_STATUS |= {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


@dataclass(frozen=True)
class GoogleError:
    """One google.rpc.Status error: HTTP code, message, canonical status and `details`."""

    code: int
    message: str
    details: list[JSONObject] = field(default_factory=list)

    @property
    def status(self) -> str:
        return _STATUS.get(self.code, "UNKNOWN")

    def envelope(self) -> JSONObject:
        error: JSONObject = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad(message: str, field_path: str | None = None) -> GoogleError:
    violation = {"description": message} if field_path is None else {"field": field_path, "description": message}
    return GoogleError(400, message, [{"@type": _BAD_REQUEST, "fieldViolations": [violation]}])


def unknown_name(name: str, where: str = "") -> GoogleError:
    path = f" at '{where}'" if where else ""
    return bad(f'Invalid JSON payload received. Unknown name "{name}"{path}: Cannot find field.')


def check_auth(headers: Mapping[str, str], query: str, api_key: str) -> GoogleError | None:
    """403 without a key, 400 API_KEY_INVALID for a wrong one; a key in the URL is refused outright here,
    because llmrelay must never put one there (URLs end up in logs)."""
    if re.search(r"(^|&)key=", query):
        return bad("fake Gemini: the API key must travel in x-goog-api-key, never in the URL")
    given = headers.get("x-goog-api-key")
    if not given:
        return GoogleError(403, _UNREGISTERED)
    if given != api_key:
        reason = {"@type": _ERROR_INFO, "reason": "API_KEY_INVALID", "domain": "googleapis.com"}
        return GoogleError(400, "API key not valid. Please pass a valid API key.", [reason])
    return None


def validate_generate(body: JSONObject, *, signatures_required: bool) -> GoogleError | None:
    """The first problem Gemini would report for a generateContent body, or ``None``."""
    for name in body:
        if name not in TOP_LEVEL | TOP_LEVEL_EXTRA:
            return unknown_name(name)
    declared, error = _check_tools(body.get("tools"))
    return (
        error
        or _check_contents(body.get("contents"))
        or _check_system(body.get("systemInstruction"))
        or _check_tool_config(body.get("toolConfig"), declared)
        or _check_generation(body.get("generationConfig"))
        or _check_pairing(body["contents"])
        or (_check_signatures(body["contents"]) if signatures_required else None)
    )


def _check_contents(contents: object) -> GoogleError | None:
    if not isinstance(contents, list) or not contents:
        return bad("* GenerateContentRequest.contents: contents is not specified\n", "contents")
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            return bad(f"Invalid value at 'contents[{i}]', expected an object", f"contents[{i}]")
        extra = set(content) - {"role", "parts"}
        if extra:
            return unknown_name(sorted(extra)[0], f"contents[{i}]")
        if content.get("role") not in ("user", "model"):
            return bad("Please use a valid role: user, model.", f"contents[{i}].role")
        if i > 0 and content["role"] == contents[i - 1].get("role"):
            return bad("Please ensure that multiturn requests alternate between user and model.", f"contents[{i}]")
        error = _check_parts(content.get("parts"), f"contents[{i}]")
        if error is not None:
            return error
    return None


def _check_system(system: object) -> GoogleError | None:
    if system is None:
        return None
    if not isinstance(system, dict) or set(system) - {"parts", "role"}:
        return bad("Invalid value at 'system_instruction'", "system_instruction")
    parts = system.get("parts")
    if isinstance(parts, list) and any(not isinstance(p, dict) or set(p) != {"text"} for p in parts):
        return bad("* GenerateContentRequest.system_instruction: text parts only\n", "system_instruction")
    return _check_parts(parts, "system_instruction")


def _check_parts(parts: object, where: str) -> GoogleError | None:
    if not isinstance(parts, list) or not parts:
        return bad(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n", f"{where}.parts")
    for j, part in enumerate(parts):
        error = _check_part(part, f"{where}.parts[{j}]")
        if error is not None:
            return error
    return None


def _check_part(part: object, where: str) -> GoogleError | None:
    if not isinstance(part, dict):
        return bad(f"Invalid value at '{where}', expected an object", where)
    unknown = set(part) - PART_DATA - PART_DATA_EXTRA - PART_META
    if unknown:
        return unknown_name(sorted(unknown)[0], where)
    data = [key for key in part if key in PART_DATA | PART_DATA_EXTRA]
    if len(data) != 1:
        return bad(
            f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field\n"
        )
    signature = part.get("thoughtSignature")
    if signature is not None and not _is_base64(signature):
        return bad(f"Invalid value at '{where}.thought_signature' (TYPE_BYTES), Base64 decoding failed", where)
    return _PART_CHECKS.get(data[0], _no_check)(part[data[0]], f"{where}.{data[0]}")


def _no_check(value: object, where: str) -> GoogleError | None:
    return None


def _check_text(value: object, where: str) -> GoogleError | None:
    return None if isinstance(value, str) else bad(f"Invalid value at '{where}' (TYPE_STRING)", where)


def _check_blob(value: object, where: str) -> GoogleError | None:
    if not isinstance(value, dict) or set(value) != {"mimeType", "data"} or not isinstance(value["mimeType"], str):
        return bad(f"* GenerateContentRequest.{where}: mimeType and data are required\n", where)
    if not _is_base64(value["data"]):
        return bad(f"Invalid value at '{where}.data' (TYPE_BYTES), Base64 decoding failed", f"{where}.data")
    return None


def _check_file_data(value: object, where: str) -> GoogleError | None:
    if not isinstance(value, dict) or set(value) != {"mimeType", "fileUri"}:
        return bad(f"* GenerateContentRequest.{where}: fileUri and mimeType are required\n", where)
    if not str(value["fileUri"]).startswith(("https://", "gs://")):
        return bad(f"* GenerateContentRequest.{where}.file_uri: unsupported URI scheme\n", where)
    return None


def _check_call(value: object, where: str) -> GoogleError | None:
    if not isinstance(value, dict) or set(value) - {"name", "args", "id"} or not isinstance(value.get("name"), str):
        return bad(f"* GenerateContentRequest.{where}.name: name is required\n", where)
    return None if isinstance(value.get("args", {}), dict) else bad(f"Invalid value at '{where}.args'", where)


def _check_response(value: object, where: str) -> GoogleError | None:
    if not isinstance(value, dict) or set(value) - {"name", "response", "id"} or not isinstance(value.get("name"), str):
        return bad(f"* GenerateContentRequest.{where}.name: name is required\n", where)
    if not isinstance(value.get("response"), dict):
        return bad(f"Invalid value at '{where}.response' (type.googleapis.com/google.protobuf.Struct)", where)
    return None


_PART_CHECKS = {
    "text": _check_text,
    "inlineData": _check_blob,
    "fileData": _check_file_data,
    "functionCall": _check_call,
    "functionResponse": _check_response,
}


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_tools(tools: object) -> tuple[set[str], GoogleError | None]:
    declared: set[str] = set()
    if tools is None:
        return declared, None
    if not isinstance(tools, list):
        return declared, bad("Invalid value at 'tools', expected a list", "tools")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or set(tool) - {"functionDeclarations", "codeExecution", "googleSearch"}:
            return declared, unknown_name(sorted(tool)[0] if isinstance(tool, dict) else "?", f"tools[{i}]")
        for j, decl in enumerate(tool.get("functionDeclarations") or []):
            where = f"tools[{i}].function_declarations[{j}]"
            if not isinstance(decl, dict) or set(decl) - DECLARATION:
                return declared, unknown_name(sorted(set(decl) - DECLARATION)[0], where)
            if not isinstance(decl.get("name"), str) or not _NAME.fullmatch(decl["name"]):
                return declared, bad(f"* GenerateContentRequest.{where}.name: Invalid function name.\n", where)
            if "parameters" in decl and "parametersJsonSchema" in decl:
                return declared, bad(f"* {where}: parameters and parametersJsonSchema are mutually exclusive\n")
            declared.add(decl["name"])
    return declared, None


def _check_tool_config(config: object, declared: set[str]) -> GoogleError | None:
    if config is None:
        return None
    calling = config.get("functionCallingConfig") if isinstance(config, dict) else None
    if not isinstance(calling, dict) or set(calling) - {"mode", "allowedFunctionNames"}:
        return bad("Invalid value at 'tool_config'", "tool_config")
    mode, names = calling.get("mode"), calling.get("allowedFunctionNames")
    if mode not in MODES:
        return bad(f"Invalid value at 'tool_config.function_calling_config.mode' (TYPE_ENUM), \"{mode}\"")
    if names is not None and mode not in ("ANY", "VALIDATED"):
        return bad(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed with mode ANY or VALIDATED\n"
        )
    unknown = [n for n in names or [] if n not in declared]
    if unknown:
        return bad(f"* GenerateContentRequest.tool_config: unknown function name {unknown[0]}\n")
    return None


def _check_generation(config: object) -> GoogleError | None:
    if config is None:
        return None
    if not isinstance(config, dict):
        return bad("Invalid value at 'generation_config'", "generation_config")
    unknown = set(config) - GENERATION
    if unknown:
        return unknown_name(sorted(unknown)[0], "generation_config")
    if "responseSchema" in config and "responseJsonSchema" in config:
        return bad("* GenerateContentRequest.generation_config: responseSchema and responseJsonSchema are exclusive\n")
    if "responseJsonSchema" in config and config.get("responseMimeType") != "application/json":
        return bad(
            "* GenerateContentRequest.generation_config.response_mime_type: must be application/json with a schema\n"
        )
    stops = config.get("stopSequences", [])
    if not isinstance(stops, list) or len(stops) > 5:
        return bad("* GenerateContentRequest.generation_config.stop_sequences: at most 5\n")
    return _check_numbers(config) or _check_thinking(config.get("thinkingConfig"))


def _check_numbers(config: JSONObject) -> GoogleError | None:
    ranges = {"temperature": (0, 2), "topP": (0, 1), "candidateCount": (1, 8), "maxOutputTokens": (1, 65536)}
    for key, (low, high) in ranges.items():
        value = config.get(key)
        if value is not None and (not isinstance(value, int | float) or not low <= value <= high):
            snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), key)
            return bad(
                f"* GenerateContentRequest.generation_config.{snake}: out of range\n", f"generation_config.{snake}"
            )
    return None


def _check_thinking(thinking: object) -> GoogleError | None:
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or set(thinking) - THINKING:
        return bad("Invalid value at 'generation_config.thinking_config'")
    level = thinking.get("thinkingLevel")
    if level is not None and level not in THINKING_LEVELS:
        return bad(f"Invalid value at 'generation_config.thinking_config.thinking_level' (TYPE_ENUM), \"{level}\"")
    return None


def _calls(content: JSONObject) -> list[str]:
    return [p["functionCall"]["name"] for p in content["parts"] if "functionCall" in p]


def _responses(content: JSONObject) -> list[str]:
    return [p["functionResponse"]["name"] for p in content["parts"] if "functionResponse" in p]


def _check_pairing(contents: list[JSONObject]) -> GoogleError | None:
    """Each function-call turn is answered by the next content, with as many function responses."""
    for i, content in enumerate(contents):
        previous = _calls(contents[i - 1]) if i > 0 and contents[i - 1]["role"] == "model" else []
        answers = _responses(content)
        if answers and not previous:
            return bad(
                "Please ensure that function response turn comes immediately after a function call turn.",
                f"contents[{i}]",
            )
        if previous and sorted(previous) != sorted(answers):
            return bad(
                "Please ensure that the number of function response parts is equal to the number of function "
                "call parts of the function call turn.",
                f"contents[{i}]",
            )
    return None


def _check_signatures(contents: list[JSONObject]) -> GoogleError | None:
    """Gemini 3: in the current turn (since the last user text), each calling step's first call is signed."""
    start = 0
    for i, content in enumerate(contents):
        if content["role"] == "user" and any("functionResponse" not in p for p in content["parts"]):
            start = i
    for i, content in enumerate(contents[start:], start):
        calls = [p for p in content["parts"] if "functionCall" in p]
        if content["role"] == "model" and calls and "thoughtSignature" not in calls[0]:
            name = calls[0]["functionCall"]["name"]
            return bad(
                "Function call is missing a thought_signature in functionCall parts. This is required for tools "
                "to work correctly, and missing thought_signature may lead to degraded model performance. "
                f"Additional data, function call `default_api:{name}`, position {i + 1}. Please refer to "
                "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            )
    return None


def validate_embed(body: JSONObject, model: str) -> GoogleError | None:
    """A batchEmbedContents body: `requests[]` whose `model` repeats the one in the URL."""
    if set(body) - {"requests"}:
        return unknown_name(sorted(set(body) - {"requests"})[0])
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return bad("* BatchEmbedContentsRequest.requests: requests is not specified\n", "requests")
    for i, request in enumerate(requests):
        where = f"requests[{i}]"
        if not isinstance(request, dict) or set(request) - EMBED_REQUEST:
            return unknown_name(sorted(set(request) - EMBED_REQUEST)[0] if isinstance(request, dict) else "?", where)
        if request.get("model") != f"models/{model}":
            return bad(f"* BatchEmbedContentsRequest.{where}.model: model must be models/{model}\n", f"{where}.model")
        content = request.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list) or not parts or any(set(p) != {"text"} for p in parts):
            return bad(f"* BatchEmbedContentsRequest.{where}.content: text parts are required\n", f"{where}.content")
        dims = request.get("outputDimensionality")
        if dims is not None and (not isinstance(dims, int) or not 1 <= dims <= 3072):
            return bad(f"* {where}.output_dimensionality: out of range\n", f"{where}.output_dimensionality")
    return None
