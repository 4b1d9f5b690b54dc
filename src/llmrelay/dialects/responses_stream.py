"""Chat completion chunks → the Responses stream events, in the order OpenAI sends them
(openai-python `types/responses/response_stream_event.py`; the SDK's `ResponseStreamState` rebuilds
the final Response from them and needs `response.created` first).

```
response.created · response.in_progress                      (start)
response.output_item.added      {message, in_progress}        first text of a message
response.content_part.added     {output_text, text: ""}
response.output_text.delta …                                  each text delta
response.output_text.done · response.content_part.done · response.output_item.done
response.output_item.added      {function_call, in_progress}  each new tool call (chat tool index)
response.function_call_arguments.delta …
response.function_call_arguments.done · response.output_item.done
response.completed | response.incomplete                      (finish: usage, status)
error · response.failed                                       (fail: the chat stream broke)
```

An item closes when the next one opens (a message when a tool call starts, a call when the next call
starts), the rest at the end. Every event carries its `sequence_number`, from 0.

    >>> stream = ResponsesStream(shell, ItemIds("ab"))
    >>> events = stream.start() + stream.feed(chunk) + stream.finish(completed_at=1733011201)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from llmrelay.dialects.responses import JSON, ItemIds
from llmrelay.dialects.responses_reply import (
    failed,
    finished,
    function_call_item,
    message_item,
    output_text,
)


class ResponsesStream:
    """Stateful: feed it the chat chunks of one stream (parsed), get the events to send."""

    def __init__(self, shell: Mapping[str, Any], ids: ItemIds) -> None:
        self._shell = copy.deepcopy(dict(shell))
        self._ids = ids
        self._sequence = 0
        self._output: list[JSON] = []
        self._open: list[int] = []
        """Output indexes of the items still in progress, in the order they opened."""
        self._text: int | None = None
        """The output index of the message taking text deltas, while it is open."""
        self._calls: dict[int, int] = {}
        """Chat tool-call index → output index."""
        self._finish: object = None
        self._usage: Mapping[str, Any] | None = None
        self.response: JSON = self._shell
        """The Response as the last event left it: the final one after `finish` or `fail`."""

    def _event(self, kind: str, **fields: Any) -> JSON:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[JSON]:
        return [
            self._event("response.created", response=copy.deepcopy(self._shell)),
            self._event("response.in_progress", response=copy.deepcopy(self._shell)),
        ]

    def feed(self, chunk: Mapping[str, Any]) -> list[JSON]:
        """The events for one `chat.completion.chunk` (its first choice; a usage-only chunk gives none)."""
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        choices = chunk.get("choices") or ()
        choice = choices[0] if choices and isinstance(choices[0], dict) else None
        if choice is None:
            return []
        events: list[JSON] = []
        delta = choice.get("delta") or {}
        text = delta.get("content")
        if isinstance(text, str) and text:
            events += self._text_delta(text)
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                events += self._call_delta(call)
        if choice.get("finish_reason") is not None:
            self._finish = choice["finish_reason"]
        return events

    def _text_delta(self, text: str) -> list[JSON]:
        events = self._open_message() if self._text is None else []
        index = self._text
        assert index is not None
        item = self._output[index]
        item["content"][0]["text"] += text
        events.append(
            self._event(
                "response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                delta=text, logprobs=[],
            )
        )  # fmt: skip
        return events

    def _open_message(self) -> list[JSON]:
        events = self._close_all()
        index = len(self._output)
        item = message_item(self._ids.next("msg"), [], "in_progress")
        self._output.append(item)
        self._open.append(index)
        self._text = index
        events.append(self._event("response.output_item.added", output_index=index, item=copy.deepcopy(item)))
        item["content"].append(output_text(""))
        events.append(
            self._event(
                "response.content_part.added", item_id=item["id"], output_index=index, content_index=0,
                part=output_text(""),
            )
        )  # fmt: skip
        return events

    def _call_delta(self, call: Mapping[str, Any]) -> list[JSON]:
        events: list[JSON] = []
        given = call.get("index")
        chat_index = given if isinstance(given, int) else len(self._calls)
        function: Mapping[str, Any] = call["function"] if isinstance(call.get("function"), dict) else {}
        if chat_index not in self._calls:
            events += self._close_all()
            index = len(self._output)
            call_id = str(call.get("id") or self._ids.next("call"))
            item = function_call_item(self._ids.next("fc"), call_id, str(function.get("name") or ""), "", "in_progress")
            self._output.append(item)
            self._open.append(index)
            self._calls[chat_index] = index
            events.append(self._event("response.output_item.added", output_index=index, item=copy.deepcopy(item)))
        index = self._calls[chat_index]
        item = self._output[index]
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            item["arguments"] += arguments
            events.append(
                self._event(
                    "response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=arguments
                )
            )
        return events

    def _close_all(self, status: str = "completed") -> list[JSON]:
        events: list[JSON] = []
        for index in self._open:
            events += self._close(index, status)
        self._open, self._text = [], None
        return events

    def _close(self, index: int, status: str) -> list[JSON]:
        item = self._output[index]
        item["status"] = status
        events: list[JSON] = []
        if item["type"] == "message":
            part = item["content"][0]
            common = {"item_id": item["id"], "output_index": index, "content_index": 0}
            events.append(self._event("response.output_text.done", **common, text=part["text"], logprobs=[]))
            events.append(self._event("response.content_part.done", **common, part=copy.deepcopy(part)))
        else:
            events.append(
                self._event(
                    "response.function_call_arguments.done", item_id=item["id"], output_index=index,
                    name=item["name"], arguments=item["arguments"],
                )
            )  # fmt: skip
        events.append(self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item)))
        return events

    def finish(self, completed_at: int, usage: Mapping[str, Any] | None = None) -> list[JSON]:
        """The closing events once the chat stream ended: open items done, then `response.completed`
        (`response.incomplete` when the answer was cut by the token limit or a content filter).
        `usage`: the chat usage when the stream carried none."""
        events: list[JSON] = []
        if not self._output:  # no text, no call: still the (empty) message the non-stream reply has
            events += self._open_message()
        status = "incomplete" if self._finish in ("length", "content_filter") else "completed"
        events += self._close_all(status)
        self.response = finished(self._shell, self._output, self._finish, self._usage or usage, completed_at)
        kind = "response.completed" if self.response["status"] == "completed" else "response.incomplete"
        events.append(self._event(kind, response=copy.deepcopy(self.response)))
        return events

    def fail(self, error: Mapping[str, Any]) -> list[JSON]:
        """The chat stream broke (`error`: an OpenAI error object): an `error` event, then `response.failed`."""
        events = self._close_all("incomplete")
        events.append(
            self._event(
                "error", code=error.get("code"), message=str(error.get("message") or ""), param=error.get("param")
            )
        )
        self.response = failed(self._shell, self._output, error)
        events.append(self._event("response.failed", response=copy.deepcopy(self.response)))
        return events
