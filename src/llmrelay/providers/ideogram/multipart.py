"""multipart/form-data bodies of text fields (RFC 7578), built deterministically.

    >>> body, content_type = form_data([("prompt", "A fox"), ("num_images", "2")])
    >>> content_type
    'multipart/form-data; boundary=llmrelay-…'

The boundary is derived from the fields themselves (a SHA-256 of their names and values), so the
same fields always give the same bytes, with no randomness in an adapter. A boundary that occurs in
a value would end that part early: the next hash of a counter is tried until none does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

_CRLF = b"\r\n"


def form_data(fields: Sequence[tuple[str, str]]) -> tuple[bytes, str]:
    """The body and its `Content-Type` header value, fields in the order given (names may repeat)."""
    encoded = [(name.encode("ascii"), value.encode("utf-8")) for name, value in fields]
    digest = hashlib.sha256()
    for name, value in encoded:
        digest.update(len(name).to_bytes(4, "big") + name + len(value).to_bytes(8, "big") + value)
    delimiter = b"--" + boundary(encoded, digest.digest())
    parts = [
        delimiter + _CRLF + b'Content-Disposition: form-data; name="' + name + b'"' + _CRLF + _CRLF + value + _CRLF
        for name, value in encoded
    ]
    body = b"".join(parts) + delimiter + b"--" + _CRLF
    return body, f"multipart/form-data; boundary={delimiter[2:].decode('ascii')}"


def boundary(fields: Sequence[tuple[bytes, bytes]], seed: bytes) -> bytes:
    """The first boundary drawn from `seed` that occurs in no field name or value."""
    counter = 0
    while True:
        candidate = b"llmrelay-" + hashlib.sha256(seed + counter.to_bytes(8, "big")).hexdigest()[:32].encode()
        if not any(candidate in value or candidate in name for name, value in fields):
            return candidate
        counter += 1
