"""Run nginx as a fast fake OpenAI upstream (one JSON port, one SSE port) and verify it.

The SSE port uses the nginx echo module (Debian package libnginx-mod-http-echo) so that each
event leaves in its own flushed write, as from a real LLM upstream, but with no delay between them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import fixtures
from procs import (
    ProcessGroup,
    StartupError,
    free_port,
    http_request,
    pinned,
    wait_ready,
)

CHAT_PATH = "/v1/chat/completions"
PIECE_CHARS = 1500  # raw chars per `set`; escaped it stays well under 4 KB
ECHO_PACKAGE = "libnginx-mod-http-echo"
ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")


@dataclass(frozen=True)
class Upstream:
    """Where the fake upstream listens."""

    json_port: int
    stream_port: int

    @property
    def json_url(self) -> str:
        return f"http://127.0.0.1:{self.json_port}{CHAT_PATH}"

    @property
    def stream_url(self) -> str:
        return f"http://127.0.0.1:{self.stream_port}{CHAT_PATH}"


def nginx_quote(text: str) -> str:
    """Quote a string for nginx's config parser (single quotes, backslash escapes)."""
    if "$" in text:
        raise ValueError("nginx would expand '$' as a variable in this string")
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def _json_server(port: int, body: bytes) -> str:
    """`return 200` with the whole body: one write, with Content-Length."""
    # nginx caps one config token at ~4 KB, so long bodies are set in pieces and joined.
    text = body.decode()
    pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    sets = "".join(f"            set $body_{n} {nginx_quote(piece)};\n" for n, piece in enumerate(pieces))
    joined = "".join(f"$body_{n}" for n in range(len(pieces)))
    return f"""
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = {CHAT_PATH} {{
            default_type application/json;
            add_header Cache-Control no-cache;
{sets}            return 200 "{joined}";
        }}
        location / {{ return 404; }}
    }}"""


def _stream_server(port: int, events: list[bytes]) -> str:
    """Chunked `text/event-stream`: one `echo -n` + `echo_flush` (one flushed write) per SSE event."""
    # Each event is well under nginx's ~4 KB token limit; echo_flush sends it at once, as one chunk.
    pad = " " * 12
    sends = "".join(f"{pad}echo -n {nginx_quote(event.decode())};\n{pad}echo_flush;\n" for event in events)
    return f"""
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = {CHAT_PATH} {{
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            chunked_transfer_encoding on;
            postpone_output 0;
            echo_read_request_body;
{sends}        }}
        location / {{ return 404; }}
    }}"""


def nginx_conf(prefix: Path, up: Upstream) -> str:
    """A self-contained nginx.conf: own pid/log/temp paths, one worker, no access log."""
    tmp = prefix / "nginx-tmp"
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = _json_server(up.json_port, fixtures.chat_completion_body())
    servers += _stream_server(up.stream_port, fixtures.chat_stream_events())
    return f"""load_module {ECHO_MODULE};
daemon off;
master_process on;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "nginx-error.log"} warn;
events {{ worker_connections 4096; multi_accept on; }}
http {{
    access_log off;
    server_tokens off;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    tcp_nodelay on;
{temp_paths}
{servers}
}}
"""


def start_nginx(procs: ProcessGroup, prefix: Path, cpu: int | None) -> Upstream:
    """Write the config, start nginx in the foreground, wait until both ports answer."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    up = Upstream(json_port=free_port(), stream_port=free_port())
    (prefix / "nginx-tmp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, up))
    err_log = prefix / "nginx-error.log"
    cmd = [nginx, "-p", str(prefix), "-e", str(err_log), "-c", str(conf)]
    log = prefix / "nginx.out"
    proc = procs.start("nginx", pinned(cmd, cpu), log)
    body = fixtures.request_body("gpt-4o-mini", stream=False)
    wait_ready("nginx (json)", proc, up.json_url, log, body=body)
    wait_ready("nginx (stream)", proc, up.stream_url, log, body=body)
    verify_upstream(up)
    return up


def verify_upstream(up: Upstream) -> None:
    """Both ports must return the exact fixture bytes with the right content type."""
    checks = [
        (up.json_url, "application/json", fixtures.chat_completion_body(), False),
        (up.stream_url, "text/event-stream", fixtures.chat_stream_body(), True),
    ]
    for url, media_type, expected, stream in checks:
        status, ctype, data = http_request(url, fixtures.request_body("gpt-4o-mini", stream))
        if status != 200 or not ctype.startswith(media_type) or data != expected:
            raise StartupError(
                f"fake upstream {url} answered HTTP {status} ({ctype}), "
                f"{len(data)} bytes, expected {len(expected)} bytes of {media_type}"
            )
    print(f"  upstream ok: json {up.json_url}  stream {up.stream_url}", flush=True)
