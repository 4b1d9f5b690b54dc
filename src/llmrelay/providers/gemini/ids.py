"""OpenAI tool-call ids for Gemini function calls, carrying the call's thought signature.

Gemini API function calls have no id of their own (`FunctionCall.id` is optional and normally unset),
so ids are made from the gateway's request id and the call's position in the reply: the stream and the
non-stream reply number calls the same way. Gemini 3 models put an opaque `thoughtSignature` on the first
`functionCall` part of a turn and answer 400 "Function call is missing a thought_signature" when a later
request replays that call without it (ai.google.dev/gemini-api/docs/thought-signatures). An OpenAI
client only echoes the tool call's `id`, so the signature travels inside it, after `__thought__`;
`split` recovers it when the call comes back in `messages`.

    >>> ids = CallIds("req1")
    >>> ids.next(None, "c2ln")
    'call_req1_0__thought__c2ln'
    >>> split("call_req1_0__thought__c2ln")
    ('call_req1_0', 'c2ln')
"""

from __future__ import annotations

SEPARATOR = "__thought__"
"""Signatures are standard base64 (proto3 JSON `bytes`), which has no `_`: the last separator is the one."""


class CallIds:
    """Numbers the function calls of one reply, across all its candidates, in the order they arrive."""

    __slots__ = ("_count", "_prefix")

    def __init__(self, request_id: str) -> None:
        self._prefix = f"call_{request_id or 'llmrelay'}_"
        self._count = 0

    def next(self, upstream_id: object, signature: object) -> str:
        base = upstream_id if isinstance(upstream_id, str) and upstream_id else f"{self._prefix}{self._count}"
        self._count += 1
        if isinstance(signature, str) and signature:
            return f"{base}{SEPARATOR}{signature}"
        return base


def split(call_id: str) -> tuple[str, str | None]:
    """An id as `CallIds` made it → (the id without the signature, the signature or None)."""
    base, separator, signature = call_id.rpartition(SEPARATOR)
    if not separator or not signature:
        return call_id, None
    return base, signature
