"""Security headers on every response, computed once; /docs gets a policy that lets Swagger UI run.

The API answers JSON and SSE only, so its Content-Security-Policy allows nothing at all. FastAPI's
/docs page loads Swagger UI's script and stylesheet from cdn.jsdelivr.net, its favicon from
fastapi.tiangolo.com, /openapi.json from this origin, and runs one inline script: its policy allows
exactly those, the inline script by its SHA-256, hashed from the page as it is sent (the page is a
few hundred bytes, so buffering it costs nothing; every other response streams through untouched).

    >>> [name for name, _ in SECURITY_HEADERS][:2]
    [b'strict-transport-security', b'x-content-type-options']
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import Message, Send

API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_SOURCES = {
    "script-src": "https://cdn.jsdelivr.net",
    "style-src": "https://cdn.jsdelivr.net",
    "img-src": "'self' data: https://fastapi.tiangolo.com",
    "connect-src": "'self'",
}
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", API_CSP),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_CSP = b"content-security-policy"


def docs_csp(html: bytes) -> bytes:
    """The policy for the docs page `html`: its CDN resources, plus its inline scripts by hash."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    ]
    sources = {**DOCS_SOURCES, "script-src": " ".join([DOCS_SOURCES["script-src"], *hashes])}
    directives = ["default-src 'none'", *(f"{name} {value}" for name, value in sources.items())]
    return "; ".join([*directives, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]).encode()


def with_docs_csp(send: Send) -> Send:
    """A send that holds the docs page until its body is complete, then sends it with its own policy."""
    held: list[Message] = []

    async def send_docs(message: Message) -> None:
        if message["type"] == "http.response.start":
            held.append(message)
            return
        if message["type"] != "http.response.body" or not held:
            await send(message)
            return
        held.append(message)
        if message.get("more_body"):
            return
        start, *bodies = held
        held.clear()
        html = b"".join(m.get("body", b"") for m in bodies)
        start["headers"] = [(k, v) for k, v in start.get("headers", ()) if k != _CSP] + [(_CSP, docs_csp(html))]
        await send(start)
        await send({"type": "http.response.body", "body": html})

    return send_docs
