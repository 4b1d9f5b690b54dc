"""OpenAI `messages` → Gemini `contents` + `systemInstruction` (reference §3.2–3.3).

- `system` / `developer` messages become the parts of `systemInstruction`, in order, wherever they stand
  (Gemini has one system instruction per request).
- `user` → role `user`, `assistant` → role `model`; consecutive contents of one role are merged, so the
  results of one turn's parallel calls arrive in one content as Gemini requires ("the number of function
  response parts is equal to the number of function call parts").
- assistant `tool_calls` → `functionCall` parts (the thought signature carried in the id is put back on
  the part, see `ids`); a `tool` message → a `functionResponse` part in a `user` content, named after
  the call it answers (Gemini needs the name, OpenAI sends only the id). Its `response` must be an
  object: a JSON object result is sent as it is, anything else as `{"output": …}` — `types.FunctionResponse`
  says 'Use "output" key to specify function output'.
- content parts: `text`; `image_url` as a base64 data URL → `inlineData`, as an `https://` URL →
  `fileData` (the Gemini API fetches public and signed HTTPS URLs itself, blog.google "Increased file
  size limits and expanded inputs support in Gemini API"; `mimeType` is required there, so it comes
  from the file extension); `input_audio` → `inlineData` `audio/wav|mp3`; `file` with `file_data` →
  `inlineData`. `detail`, a message's `name` and an assistant's `refusal` have no Gemini equivalent and
  are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from llmrelay.errors import InvalidRequestError, UnsupportedParameterError
from llmrelay.providers.common import parse_data_url, text_of
from llmrelay.providers.gemini import ids
from llmrelay.providers.gemini.wire import Content, JSONObject, Part, Role, SystemInstruction

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
_IMAGE_TYPES |= {".heic": "image/heic", ".heif": "image/heif"}
"""The image types Gemini reads (ai.google.dev/gemini-api/docs/image-understanding), by URL extension."""

_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mp3"}


def contents_of(messages: Sequence[Any]) -> tuple[list[Content], SystemInstruction | None]:
    system: list[Part] = []
    contents: list[Content] = []
    names: dict[str, str] = {}
    """tool_call_id → function name, from the assistant messages seen so far."""
    for i, msg in enumerate(messages):
        role = msg.get("role")
        where = f"messages[{i}]"
        if role in ("system", "developer"):
            system.append({"text": text_of(msg.get("content"), param=f"{where}.content")})
        elif role == "user":
            _append(contents, "user", _user_parts(msg.get("content"), where))
        elif role == "assistant":
            _append(contents, "model", _model_parts(msg, where, names))
        elif role == "tool":
            _append(contents, "user", [_tool_result(msg, where, names)])
        else:
            raise UnsupportedParameterError(
                f"Messages with role '{role}' are not supported by Gemini; use 'tool' messages for results.",
                param=f"{where}.role",
            )
    return contents, ({"parts": system} if system else None)


def _append(contents: list[Content], role: Role, parts: list[Part]) -> None:
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts or [{"text": ""}]})


def _user_parts(content: object, where: str) -> list[Part]:
    if content is None or isinstance(content, str):
        return [{"text": content or ""}]
    if not isinstance(content, list):
        raise InvalidRequestError("Message content must be a string or an array of parts.", param=f"{where}.content")
    return [_user_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]


def _user_part(part: object, where: str) -> Part:
    kind = part.get("type") if isinstance(part, dict) else None
    if not isinstance(part, dict) or kind not in _PARTS:
        raise UnsupportedParameterError(f"Content parts of type '{kind}' are not supported by Gemini.", param=where)
    return _PARTS[kind](part, where)


def _text(part: JSONObject, where: str) -> Part:
    return {"text": str(part.get("text") or "")}


def _image(part: JSONObject, where: str) -> Part:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise InvalidRequestError("An image_url part needs image_url.url.", param=f"{where}.image_url.url")
    inline = parse_data_url(url)
    if inline is not None:
        return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}
    if not url.startswith("https://"):
        raise UnsupportedParameterError(
            "Gemini takes images as base64 data URLs or https:// URLs it can fetch.", param=f"{where}.image_url.url"
        )
    path = urlsplit(url).path.lower()
    mime = next((t for ext, t in _IMAGE_TYPES.items() if path.endswith(ext)), None)
    if mime is None:
        raise UnsupportedParameterError(
            "Gemini needs the image type of an https URL, read from its extension (.png, .jpg, .jpeg, .webp, "
            ".heic, .heif); send other images as base64 data URLs.",
            param=f"{where}.image_url.url",
        )
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _audio(part: JSONObject, where: str) -> Part:
    audio = part.get("input_audio")
    data = audio.get("data") if isinstance(audio, dict) else None
    mime = _AUDIO_TYPES.get(str(audio.get("format"))) if isinstance(audio, dict) else None
    if not isinstance(data, str) or mime is None:
        raise InvalidRequestError("input_audio needs base64 'data' and a 'format' of wav or mp3.", param=where)
    return {"inlineData": {"mimeType": mime, "data": data}}


def _file(part: JSONObject, where: str) -> Part:
    file = part.get("file")
    data = file.get("file_data") if isinstance(file, dict) else None
    inline = parse_data_url(data) if isinstance(data, str) else None
    if inline is None:
        raise UnsupportedParameterError(
            "Gemini takes files as base64 data URLs in file.file_data; file_id is not supported.", param=where
        )
    return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}


_PARTS = {"text": _text, "image_url": _image, "input_audio": _audio, "file": _file}


def _model_parts(msg: JSONObject, where: str, names: dict[str, str]) -> list[Part]:
    text = text_of(msg.get("content"), param=f"{where}.content")
    parts: list[Part] = [{"text": text}] if text else []
    calls = msg.get("tool_calls") or []
    if not isinstance(calls, list):
        raise InvalidRequestError("tool_calls must be an array.", param=f"{where}.tool_calls")
    for j, call in enumerate(calls):
        parts.append(_function_call(call, f"{where}.tool_calls[{j}]", names))
    return parts


def _function_call(call: object, where: str, names: dict[str, str]) -> Part:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(call, dict) or call.get("type", "function") != "function" or not isinstance(function, dict):
        raise UnsupportedParameterError("Only function tool calls can be sent to Gemini.", param=where)
    name, call_id = function.get("name"), call.get("id")
    if not isinstance(name, str) or not isinstance(call_id, str):
        raise InvalidRequestError("A tool call needs a string id and function.name.", param=where)
    args = _arguments(function.get("arguments"), f"{where}.function.arguments")
    names[call_id] = name
    part: Part = {"functionCall": {"name": name, "args": args}}
    signature = ids.split(call_id)[1]
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def _arguments(raw: object, where: str) -> JSONObject:
    if raw is None or raw == "":
        return {}
    try:
        args = orjson.loads(raw) if isinstance(raw, str) else None
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise InvalidRequestError("Tool call arguments must be a JSON object encoded as a string.", param=where)
    return args


def _tool_result(msg: JSONObject, where: str, names: dict[str, str]) -> Part:
    call_id = msg.get("tool_call_id")
    name = names.get(call_id) if isinstance(call_id, str) else None
    if name is None:
        raise InvalidRequestError(
            "A tool message must answer a tool call of an earlier assistant message (Gemini needs its name).",
            param=f"{where}.tool_call_id",
        )
    output = text_of(msg.get("content"), param=f"{where}.content")
    try:
        value: object = orjson.loads(output)
    except orjson.JSONDecodeError:
        value = output
    response = value if isinstance(value, dict) else {"output": value}
    return {"functionResponse": {"name": name, "response": response}}
